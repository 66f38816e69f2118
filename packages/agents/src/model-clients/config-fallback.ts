import OpenAI from 'openai';
import { errorMessage } from '../error-message.js';
import { ModelClientError } from '../errors.js';
import type { ModelRequest } from './model-client.js';
import { type CachedResponse, isCachedResponse, type ResponseCache } from './response-cache.js';
import type { UsageTracker } from './usage.js';

/** Why one config of the list did not answer. */
export interface ConfigFailure {
  /** Index in `configList`. */
  configIndex: number;
  model: string;
  /** Endpoint used (never the API key); for AI SDK models, the provider's name. */
  baseURL: string;
  /** Attempts made on this config. */
  attempts: number;
  /** The last error. */
  error: unknown;
}

/**
 * Every config of the list failed; `failures` says, per config, why. The message already holds each
 * failure's message, so neither `failures` nor a `cause` is printed again under it by Node.
 */
export class AllConfigsFailedError extends ModelClientError {
  declare readonly failures: ConfigFailure[];

  constructor(failures: ConfigFailure[]) {
    super(
      `The model call failed on every config of llmConfig.configList:\n${failures.map(describeFailure).join('\n')}\n` +
        'Check the model names, API keys and base URLs, or add another config to fall back to.',
    );
    Object.defineProperty(this, 'failures', { value: failures, enumerable: false });
  }
}

/** What one config gave: an answer, or why it failed, with the attempts it took. */
export type ConfigOutcome =
  | { answer: CachedResponse; attempts: number }
  | { failure: ConfigFailure; attempts: number };

/** An answer of {@link answerFromConfigList}, with where it came from. */
export type ConfigListAnswer = CachedResponse & {
  cached: boolean;
  /** Index in `configList` of the config that answered. */
  configIndex: number;
  /** Attempts made for this answer, over all configs (0 for a cache hit). */
  attempts: number;
};

/** What {@link answerFromConfigList} needs from a model client. */
export interface ConfigListCall {
  configCount: number;
  request: ModelRequest;
  cache: ResponseCache | undefined;
  usage: UsageTracker;
  /** The cache key of the request for one config. */
  cacheKey: (configIndex: number) => string;
  /** Calls one config, with that client's retries. */
  call: (configIndex: number) => Promise<ConfigOutcome>;
}

/**
 * AutoGen's config-list loop, shared by every model client: each config in order is answered from the
 * cache when it holds the request, else called; the first answer is cached and counted, a failure moves
 * on to the next config, and when all fail `AllConfigsFailedError` names each one. A cache that fails is a
 * miss and never loses an answer that was paid for.
 */
export async function answerFromConfigList(options: ConfigListCall): Promise<ConfigListAnswer> {
  const { cache, usage, request } = options;
  const failures: ConfigFailure[] = [];
  let attemptsSoFar = 0;
  for (let configIndex = 0; configIndex < options.configCount; configIndex += 1) {
    const key = options.cacheKey(configIndex);
    const stored = cache ? await cache.get(key).catch(() => undefined) : undefined;
    if (isCachedResponse(stored)) {
      if (request.onTextDelta && stored.message.content) request.onTextDelta(stored.message.content);
      usage.record(stored.model, stored.usage, true);
      return { ...stored, cached: true, configIndex, attempts: 0 };
    }
    const outcome = await options.call(configIndex);
    attemptsSoFar += outcome.attempts;
    if ('failure' in outcome) {
      failures.push(outcome.failure);
      continue;
    }
    const answer = outcome.answer;
    if (cache && (answer.message.content !== null || answer.message.tool_calls)) {
      await cache.set(key, answer).catch(() => undefined);
    }
    usage.record(answer.model, answer.usage, false);
    return { ...answer, cached: false, configIndex, attempts: attemptsSoFar };
  }
  throw new AllConfigsFailedError(failures);
}

function describeFailure(failure: ConfigFailure): string {
  const attempts = failure.attempts === 1 ? '1 attempt' : `${failure.attempts} attempts`;
  return `- configList[${failure.configIndex}] model ${failure.model} at ${failure.baseURL} (${attempts}): ${describeModelError(failure.error)}`;
}

/** A model call's error in one line, for messages (never the API key). */
export function describeModelError(error: unknown): string {
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return 'timed out. The endpoint may be congested or `timeoutMs` in llmConfig may be too small.';
  }
  if (error instanceof OpenAI.APIError && error.status !== undefined) return `HTTP ${error.message}`;
  return errorMessage(error);
}
