import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { ChatQueueItem } from '../chats/chat-queue.js';
import type { InitiateChatOptions } from '../chats/initiate-chat.js';
import type { ConversableAgent } from '../conversable-agent.js';
import { InvalidOptionError } from '../errors.js';
import { PipelineError } from './durable-errors.js';
import {
  cancelPollMsOf,
  continueRun,
  type DurableRun,
  type DurableRunOptions,
  loadStoredRun,
  start,
} from './durable-run.js';
import { FileRunStore } from './file-run-store.js';
import { type RunDefinition, storableChatOptions, storableQueue } from './run-definition.js';
import type { JsonValue, RunStore } from './run-store.js';

/** What a pipeline's `build` is told about the run it builds agents for. */
export interface PipelineContext {
  /** The run's id (the same when the run is resumed). */
  runId: string;
}

/** The agents a pipeline builds and the flow to run with them: one chat, or an `initiateChats` queue. */
export type PipelineFlow =
  | {
      /** Every agent of the run (a group chat's manager and members included). */
      agents: readonly ConversableAgent[];
      /** A two-agent chat, or a group chat when `recipient` is a `GroupChatManager`. */
      chat: InitiateChatOptions & { sender: ConversableAgent; recipient: ConversableAgent };
    }
  | {
      /** Every agent of the run. */
      agents: readonly ConversableAgent[];
      /** An `initiateChats` queue, in order or as a dependency graph. */
      chats: readonly ChatQueueItem[];
    };

/** A named recipe for a durable run: how to build its agents and flow from a JSON input. */
export interface Pipeline<TInput = unknown, TRawInput = TInput> {
  /** Stored in the run's header, so any process that knows the pipeline can resume the run. */
  readonly name: string;
  /** Checks the input (when starting and when resuming). @default any JSON value */
  readonly input?: z.ZodType<TInput, TRawInput>;
  /** Builds fresh agents and the flow; called again on resume with the stored input, so it must not depend on anything else. */
  build(input: TInput, context: PipelineContext): PipelineFlow | Promise<PipelineFlow>;
}

/** Options of {@link resumePipeline}. */
export interface ResumePipelineOptions {
  /** The store the run is in. @default a `FileRunStore` in `.hopgen/runs` */
  store?: RunStore;
  /** Stops the run in this process; `resumePipeline` continues it later. @default none */
  signal?: AbortSignal;
  /** How often the run looks for a cancel asked by another process, in milliseconds (see `DurableRunOptions.cancelPollMs`). @default 1000 */
  cancelPollMs?: number;
}

/** Defines a pipeline; the definition is checked now so a mistake shows before any run. */
export function definePipeline<TInput = unknown, TRawInput = TInput>(
  definition: Pipeline<TInput, TRawInput>,
): Pipeline<TInput, TRawInput> {
  if (typeof definition?.name !== 'string' || definition.name.trim() === '') {
    throw new InvalidOptionError(
      "definePipeline needs a name: definePipeline({ name: 'report', build }). It is stored with every run.",
    );
  }
  if (typeof definition.build !== 'function') {
    throw new InvalidOptionError(
      `Pipeline '${definition.name}' needs build(input, { runId }) returning { agents, chat } or { agents, chats }.`,
    );
  }
  if (definition.input !== undefined && typeof definition.input?.safeParse !== 'function') {
    throw new InvalidOptionError(
      `Pipeline '${definition.name}': input must be a zod schema, such as z.object({ topic: z.string() }).`,
    );
  }
  return definition;
}

/**
 * Starts a durable run of `pipeline` with `input`: the input is checked with the pipeline's schema,
 * stored with the pipeline's name in the run's header, and given to `build` for the agents and flow.
 */
export async function startPipeline<TInput, TRawInput>(
  pipeline: Pipeline<TInput, TRawInput>,
  input: TRawInput,
  options: DurableRunOptions = {},
): Promise<DurableRun> {
  // Checked before the pipeline builds anything (its agents may open sandboxes).
  cancelPollMsOf(options);
  const stored = storableInput(pipeline.name, input);
  const parsed = parseInput(pipeline, stored, (problem) =>
    [
      `The input of pipeline '${pipeline.name}' is not valid: ${problem}.`,
      "Pass startPipeline(pipeline, input) an input that matches the pipeline's input schema.",
    ].join(' '),
  );
  const runId = options.runId ?? randomUUID();
  const built = await buildFlow(pipeline, parsed, runId);
  return start(
    built.flow,
    built.agents,
    { ...options, runId },
    {
      name: pipeline.name,
      ...(stored === undefined ? {} : { input: stored }),
    },
  );
}

/**
 * Resumes a run started by {@link startPipeline}: rebuilds the agents from the input stored with
 * the run and continues it (see `resumeRun`).
 */
export async function resumePipeline<TInput, TRawInput>(
  pipeline: Pipeline<TInput, TRawInput>,
  runId: string,
  options: ResumePipelineOptions = {},
): Promise<DurableRun> {
  cancelPollMsOf(options);
  const store = options.store ?? new FileRunStore();
  const stored = await loadStoredRun(store, runId);
  const started = stored.header.pipeline;
  if (started?.name !== pipeline.name) {
    const by = started ? `pipeline '${started.name}'` : 'startChat or startChats, not a pipeline';
    throw new PipelineError(
      `Run ${runId} was started by ${by}, so pipeline '${pipeline.name}' cannot resume it. ${started ? `Resume it with resumePipeline(<the '${started.name}' pipeline>, runId).` : 'Resume it with resumeRun(runId, { agents }).'}`,
    );
  }
  const parsed = parseInput(pipeline, started.input, (problem) =>
    [
      `The input stored with run ${runId} no longer matches pipeline '${pipeline.name}': ${problem}.`,
      'Resume it with the version of the pipeline that started it.',
    ].join(' '),
  );
  const built = await buildFlow(pipeline, parsed, runId);
  return continueRun(stored, {
    agents: built.agents,
    store,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cancelPollMs === undefined ? {} : { cancelPollMs: options.cancelPollMs }),
  });
}

/** The input as it is stored: a JSON copy, so what is checked now is what a resume will read. */
function storableInput(name: string, input: unknown): JsonValue | undefined {
  if (input === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(input)) as JsonValue;
  } catch (error) {
    throw new PipelineError(
      `The input of pipeline '${name}' cannot be stored as JSON (${(error as Error).message}). Pass plain data: strings, numbers, booleans, arrays and objects.`,
    );
  }
}

function parseInput<TInput, TRawInput>(
  pipeline: Pipeline<TInput, TRawInput>,
  input: JsonValue | undefined,
  message: (problem: string) => string,
): TInput {
  if (pipeline.input === undefined) return input as TInput;
  const parsed = pipeline.input.safeParse(input);
  if (parsed.success) return parsed.data;
  const problem = parsed.error.issues
    .slice(0, 3)
    .map(
      (issue) =>
        `${issue.path.length > 0 ? `field '${issue.path.join('.')}'` : 'the input'}: ${issue.message}`,
    )
    .join('; ');
  throw new PipelineError(message(problem));
}

async function buildFlow<TInput, TRawInput>(
  pipeline: Pipeline<TInput, TRawInput>,
  input: TInput,
  runId: string,
): Promise<{ flow: RunDefinition['flow']; agents: ConversableAgent[] }> {
  const built = await pipeline.build(input, { runId });
  const where = `Pipeline '${pipeline.name}'`;
  if (built !== null && typeof built === 'object' && 'chat' in built && built.chat) {
    const { sender, recipient, ...chatOptions } = built.chat;
    return {
      flow: {
        kind: 'chat',
        sender: sender.name,
        recipient: recipient.name,
        options: storableChatOptions(chatOptions, where),
      },
      agents: [...(built.agents ?? []), sender, recipient],
    };
  }
  if (built !== null && typeof built === 'object' && 'chats' in built && Array.isArray(built.chats)) {
    const queueAgents = built.chats.flatMap((item) => (item.sender ? [item.sender, item.recipient] : []));
    return { flow: storableQueue(built.chats), agents: [...(built.agents ?? []), ...queueAgents] };
  }
  throw new InvalidOptionError(
    `${where}: build must return { agents, chat: { sender, recipient, message } } or { agents, chats: [...] }.`,
  );
}
