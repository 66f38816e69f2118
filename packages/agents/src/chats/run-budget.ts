import { BudgetExceededError, InvalidOptionError, UnknownModelPriceError } from '../errors.js';
import type { ModelClient, ModelRequest, ModelResponse } from '../model-clients/model-client.js';

/** What a run may spend; every limit is optional. Used by `initiateChat`, group chats and `initiateChats`. */
export interface RunBudgetOptions {
  /** Most tokens (prompt and completion, cached answers excluded) the run's model calls may use. @default no limit */
  maxTokens?: number;
  /** Most US dollars the run's model calls may cost; every model needs a known price. @default no limit */
  maxCostUsd?: number;
  /** Longest the run may take, in milliseconds from its start. @default no limit */
  maxDurationMs?: number;
}

/** Which budget ran out. */
export type BudgetName = keyof RunBudgetOptions;

/** What a run has used so far. */
export interface BudgetUsage {
  /** Tokens of the model calls (cached answers excluded). */
  tokens: number;
  /** US dollars of the model calls. */
  costUsd: number;
  /** Milliseconds since the run started. */
  durationMs: number;
}

/** Which budget a run used up, its limit, and the usage when it was found out. */
export interface BudgetExceeded {
  budget: BudgetName;
  limit: number;
  usage: BudgetUsage;
}

const BUDGET_NAMES: readonly BudgetName[] = ['maxTokens', 'maxCostUsd', 'maxDurationMs'];

/** The budget of a run started with `options`, counting towards `parent`'s too; `undefined` when it sets none. */
export function budgetFor(options: RunBudgetOptions, parent: RunBudget | undefined): RunBudget | undefined {
  if (!BUDGET_NAMES.some((name) => options[name] !== undefined)) return undefined;
  const limits: RunBudgetOptions = {};
  for (const name of BUDGET_NAMES) if (options[name] !== undefined) limits[name] = options[name];
  return new RunBudget(limits, parent);
}

/**
 * The spending of a run against its limits. A nested run's budget counts towards its parent's too,
 * so a plan's budget covers all its chats. Checked before every model call and between rounds.
 */
export class RunBudget {
  readonly #limits: RunBudgetOptions;
  readonly #parent: RunBudget | undefined;
  readonly #startedAt = performance.now();
  #tokens = 0;
  #costUsd = 0;

  constructor(limits: RunBudgetOptions, parent?: RunBudget) {
    for (const name of BUDGET_NAMES) {
      const value = limits[name];
      if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new InvalidOptionError(`${name} must be a positive number, got ${String(value)}.`);
      }
    }
    this.#limits = { ...limits };
    this.#parent = parent;
  }

  /** Whether a cost limit applies to this run (its own or a parent's). */
  get limitsCost(): boolean {
    return this.#limits.maxCostUsd !== undefined || this.#parent?.limitsCost === true;
  }

  /** What this run has used so far. */
  usage(): BudgetUsage {
    return { tokens: this.#tokens, costUsd: this.#costUsd, durationMs: performance.now() - this.#startedAt };
  }

  /** The first budget used up, this run's or a parent's, or `undefined` while there is room. */
  exceeded(): BudgetExceeded | undefined {
    const usage = this.usage();
    const used: Record<BudgetName, number> = {
      maxTokens: usage.tokens,
      maxCostUsd: usage.costUsd,
      maxDurationMs: usage.durationMs,
    };
    for (const budget of BUDGET_NAMES) {
      const limit = this.#limits[budget];
      if (limit !== undefined && used[budget] >= limit) return { budget, limit, usage };
    }
    return this.#parent?.exceeded();
  }

  /** Throws {@link BudgetExceededError} when a budget is used up. */
  check(): void {
    const exceeded = this.exceeded();
    if (exceeded) throw new BudgetExceededError(exceeded, describeBudgetExceeded(exceeded));
  }

  /** Counts a model answer (a cached one costs nothing now). */
  record(response: ModelResponse, agentName: string): void {
    if (response.cached) return;
    if (response.usage.cost === null && this.limitsCost) {
      throw new UnknownModelPriceError(unknownPriceMessage([response.model], agentName));
    }
    this.#add(response.usage.totalTokens, response.usage.cost ?? 0);
  }

  #add(tokens: number, costUsd: number): void {
    this.#tokens += tokens;
    this.#costUsd += costUsd;
    if (this.#parent !== undefined) this.#parent.#add(tokens, costUsd);
  }
}

/** The sentence a run that used up a budget ends with, for people and for `chat-terminated`. */
export function describeBudgetExceeded({ budget, limit, usage }: BudgetExceeded): string {
  const shown =
    budget === 'maxCostUsd' ? `$${limit}` : budget === 'maxDurationMs' ? `${limit} ms` : `${limit}`;
  return `The ${budget} budget (${shown}) is used up: ${usage.tokens} tokens, $${usage.costUsd.toFixed(6)}, ${Math.round(usage.durationMs)} ms so far.`;
}

/**
 * Fails before a run starts when it has a cost budget and one of `agents` uses a model without a known
 * price, rather than guess what it costs.
 */
export function assertPricesKnown(
  budget: RunBudget | undefined,
  agents: readonly { name: string; modelClient: ModelClient | null }[],
): void {
  if (budget === undefined || !budget.limitsCost) return;
  for (const agent of agents) {
    const unpriced = agent.modelClient?.unpricedModels?.() ?? [];
    if (unpriced.length > 0) throw new UnknownModelPriceError(unknownPriceMessage(unpriced, agent.name));
  }
}

function unknownPriceMessage(models: readonly string[], agentName: string): string {
  return `maxCostUsd needs the price of every model, and hopgen does not know the price of ${models.map((model) => JSON.stringify(model)).join(', ')} (agent '${agentName}'). Give its configList entry a \`price\`: [prompt, completion] in US dollars per 1,000 tokens, or drop maxCostUsd.`;
}

/** `client` with `budget` checked before each call and each answer counted. */
export function budgetedClient(client: ModelClient, budget: RunBudget, agentName: string): ModelClient {
  return {
    create: async (request: ModelRequest) => {
      budget.check();
      const response = await client.create(request);
      budget.record(response, agentName);
      return response;
    },
    usage: () => client.usage(),
    clearUsage: () => client.clearUsage(),
  };
}
