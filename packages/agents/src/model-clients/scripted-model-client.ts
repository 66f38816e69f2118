import { InvalidOptionError, ModelClientError } from '../errors.js';
import { contentToString, type Message, type ToolCall } from '../message.js';
import type { ModelClient, ModelRequest, ModelResponse } from './model-client.js';
import { type UsageReport, UsageTracker } from './usage.js';

// Enough for any test to inspect a chat's requests, small enough that a 10,000-message offline run
// keeps a few MB of prompts instead of hundreds.
const DEFAULT_MAX_RECORDED_REQUESTS = 100;

/** How much of one prompt array was counted, and the messages that tell whether it is still the same prompt. */
interface CountedPrompt {
  length: number;
  characters: number;
  first: Message | undefined;
  last: Message | undefined;
}

/** One scripted answer: text, or an assistant message with tool calls. */
export type ScriptedReply = string | { content?: string | null; tool_calls?: ToolCall[] };

/** Options of {@link ScriptedModelClient}. */
export interface ScriptedModelClientOptions {
  /** Answers in order, or a function that answers each request (`index` counts from 0). */
  replies:
    | readonly ScriptedReply[]
    | ((request: ModelRequest, index: number) => ScriptedReply | Promise<ScriptedReply>);
  /** Model name reported in usage. @default 'scripted' */
  model?: string;
  /**
   * How many of the latest requests `requests` keeps (older ones are dropped). Each holds the whole
   * prompt, so keeping all of a long chat's requests grows memory with the square of its length;
   * `Infinity` keeps all, 0 none. @default 100
   */
  maxRecordedRequests?: number;
}

/**
 * A model client that answers from a script instead of a model. It is for tests and offline
 * demos: nothing leaves the process, tokens are estimated (4 characters a token) and cost is 0.
 */
export class ScriptedModelClient implements ModelClient {
  /** The latest requests received, oldest first: at most `maxRecordedRequests` of them. */
  readonly requests: ModelRequest[] = [];
  #requestCount = 0;
  readonly #options: ScriptedModelClientOptions;
  readonly #maxRecordedRequests: number;
  readonly #usage = new UsageTracker();
  /** Characters counted so far per prompt array: an agent extends one array turn after turn. */
  readonly #counted = new WeakMap<readonly Message[], CountedPrompt>();

  constructor(options: ScriptedModelClientOptions) {
    const max = options.maxRecordedRequests ?? DEFAULT_MAX_RECORDED_REQUESTS;
    if (!(max >= 0) || (Number.isFinite(max) && !Number.isInteger(max))) {
      throw new InvalidOptionError(
        `ScriptedModelClient: maxRecordedRequests must be a whole number of requests, 0 or more, or Infinity to keep all; got ${String(max)}.`,
      );
    }
    this.#options = options;
    this.#maxRecordedRequests = max;
  }

  /** How many requests this client has answered, including those `requests` no longer keeps. */
  get requestCount(): number {
    return this.#requestCount;
  }

  async create(request: ModelRequest): Promise<ModelResponse> {
    const index = this.#requestCount++;
    if (this.#maxRecordedRequests > 0) {
      // A copy: the agent's prompt array grows on later turns.
      this.requests.push({ ...request, messages: [...request.messages] });
      if (this.requests.length > this.#maxRecordedRequests) this.requests.shift();
    }
    const { replies } = this.#options;
    let reply: ScriptedReply | undefined;
    if (typeof replies === 'function') {
      reply = await replies(request, index);
    } else {
      reply = replies[index];
      if (reply === undefined) {
        throw new ModelClientError(
          `ScriptedModelClient ran out of replies: request ${index + 1} arrived but the script has ${replies.length}. Add replies, or pass a function that answers every request.`,
        );
      }
    }
    const message: ModelResponse['message'] =
      typeof reply === 'string'
        ? { role: 'assistant', content: reply }
        : {
            role: 'assistant',
            content: reply.content ?? null,
            ...(reply.tool_calls ? { tool_calls: reply.tool_calls } : {}),
          };
    if (request.onTextDelta && message.content) request.onTextDelta(message.content);
    const promptCharacters = this.#promptCharacters(request.messages);
    const completionCharacters =
      (message.content?.length ?? 0) +
      (message.tool_calls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0);
    const promptTokens = Math.ceil(promptCharacters / 4);
    const completionTokens = Math.ceil(completionCharacters / 4);
    const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, cost: 0 };
    const model = this.#options.model ?? 'scripted';
    this.#usage.record(model, usage, false);
    return { message, model, usage, cached: false, finishReason: message.tool_calls ? 'tool_calls' : 'stop' };
  }

  #promptCharacters(messages: readonly Message[]): number {
    let counted = this.#counted.get(messages);
    if (
      counted === undefined ||
      counted.length > messages.length ||
      counted.first !== messages[0] ||
      counted.last !== messages[counted.length - 1]
    ) {
      counted = { length: 0, characters: 0, first: undefined, last: undefined };
      this.#counted.set(messages, counted);
    }
    for (let index = counted.length; index < messages.length; index++) {
      counted.characters += contentToString(messages[index]!.content).length;
    }
    counted.length = messages.length;
    counted.first = messages[0];
    counted.last = messages[messages.length - 1];
    return counted.characters;
  }

  usage(): UsageReport {
    return this.#usage.report();
  }

  clearUsage(): void {
    this.#usage.clear();
  }

  /** None: scripted answers cost nothing. */
  unpricedModels(): string[] {
    return [];
  }
}
