import {
  type CachedResponse,
  DiskResponseCache,
  type ModelClient,
  type ModelRequest,
  type ModelResponse,
  type ResponseCache,
  type UsageReport,
} from '@hopgen/agents';
import {
  answerFromConfigList,
  backoffDelayMs,
  type ConfigOutcome,
  cacheKey,
  describeModelError,
  knownModelPrice,
  sleep,
  UsageTracker,
} from '@hopgen/agents/internal';
import { AiSdkOptionError, StreamBrokenError } from './errors.js';
import { generateOnce, type ModelCallSettings, streamOnce } from './model-call.js';
import type { AiSdkChatClientOptions, AiSdkModelConfig } from './options.js';
import { AttemptTimeoutError, classifyFailure, retryAfterMs } from './retry-policy.js';

/** What `AiSdkChatClient.create` returns: a {@link ModelResponse} plus where it came from. */
export interface AiSdkChatResponse extends ModelResponse {
  /** Index in `configList` of the config that answered. */
  configIndex: number;
  /** Attempts made for this answer, over all configs (0 for a cache hit). */
  attempts: number;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_RETRY_BASE_DELAY_MS = 500;
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
/** Node's timers fire at once past this; a longer timeout would be no timeout at all. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A model client over the Vercel AI SDK: Anthropic, Google Gemini, Amazon Bedrock, Mistral, OpenAI and
 * every other AI SDK provider, with hopgen's AutoGen behaviour on top: `configList` tried in order (across
 * providers), retries with backoff that honours `Retry-After`, the response cache, tool calls in OpenAI's
 * form, streaming to `onTextDelta`, and token usage and cost. It streams when the request has `onTextDelta`
 * (an agent whose `llmConfig.stream` is true).
 */
export class AiSdkChatClient implements ModelClient {
  readonly #options: AiSdkChatClientOptions;
  readonly #usage = new UsageTracker();
  readonly #cache: ResponseCache | undefined;

  constructor(options: AiSdkChatClientOptions) {
    validateOptions(options);
    this.#options = { ...options, configList: [...options.configList] };
    if (options.cache) this.#cache = options.cache;
    else if (options.cacheSeed !== null) {
      this.#cache = new DiskResponseCache({
        seed: options.cacheSeed ?? 41,
        root: options.cachePathRoot ?? '.cache',
      });
    }
  }

  /** Sends the request to the first config that answers, from the cache when it has the answer. */
  create(request: ModelRequest): Promise<AiSdkChatResponse> {
    const configList = this.#options.configList;
    return answerFromConfigList({
      configCount: configList.length,
      request,
      cache: this.#cache,
      usage: this.#usage,
      cacheKey: (configIndex) => this.#cacheKey(configList[configIndex]!, request),
      call: (configIndex) => this.#callWithRetries(configIndex, configList[configIndex]!, request),
    });
  }

  /** Usage so far, with and without cached answers. */
  usage(): UsageReport {
    return this.#usage.report();
  }

  /** Forgets the usage counted so far. */
  clearUsage(): void {
    this.#usage.clear();
  }

  /** Models of the config list with neither a `price` nor a price hopgen knows (a `maxCostUsd` budget refuses them at the start). */
  unpricedModels(): string[] {
    return this.#options.configList
      .filter((config) => config.price === undefined && knownModelPrice(modelName(config)) === undefined)
      .map(modelName);
  }

  /** The cache key: everything that shapes the answer, and no secret (the model object is not serialised). */
  #cacheKey(config: AiSdkModelConfig, request: ModelRequest): string {
    return cacheKey({
      provider: config.languageModel.provider,
      model: modelName(config),
      messages: request.messages,
      tools: request.tools ?? [],
      // Answers for one schema never serve another, nor a free-text request (undefined is left out of the key).
      responseFormat: request.responseFormat,
      temperature: this.#options.temperature,
      maxOutputTokens: this.#options.maxOutputTokens,
      providerOptions: config.providerOptions,
    });
  }

  async #callWithRetries(
    configIndex: number,
    config: AiSdkModelConfig,
    request: ModelRequest,
  ): Promise<ConfigOutcome> {
    const model = modelName(config);
    const maxRetries = this.#options.maxRetries ?? DEFAULT_MAX_RETRIES;
    const fail = (error: unknown, attempts: number): ConfigOutcome => ({
      failure: { configIndex, model, baseURL: config.languageModel.provider, attempts, error },
      attempts,
    });
    for (let attempt = 1; ; attempt++) {
      const streamed = { any: false };
      try {
        const answer = await this.#attempt(config, model, request, streamed);
        return { answer, attempts: attempt };
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason ?? error;
        if (streamed.any) {
          // Text already shown cannot be taken back: replaying the call (here or on another config) would show it twice.
          throw new StreamBrokenError(
            `The answer of model ${model} (${config.languageModel.provider}) broke off after part of it was streamed (${describeModelError(error)}); it was not retried so no text is shown twice. Send the request again.`,
            { cause: error },
          );
        }
        if (classifyFailure(error) !== 'retryable' || attempt > maxRetries) return fail(error, attempt);
        const delay = backoffDelayMs(attempt - 1, retryAfterMs(error), {
          baseDelayMs: this.#options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
          maxDelayMs: this.#options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
        });
        if (delay === undefined) return fail(error, attempt);
        await sleep(delay, request.signal);
      }
    }
  }

  /** One attempt, aborted by the caller's signal or by `timeoutMs` (of silence, while streaming). */
  async #attempt(
    config: AiSdkModelConfig,
    model: string,
    request: ModelRequest,
    streamed: { any: boolean },
  ): Promise<CachedResponse> {
    const timeoutMs = Math.min(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMER_MS);
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (request.signal?.aborted) onCallerAbort();
    let timer: NodeJS.Timeout | undefined;
    const armTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new AttemptTimeoutError(timeoutMs)), timeoutMs);
    };
    armTimer();
    const settings: ModelCallSettings = {
      config,
      model,
      temperature: this.#options.temperature,
      maxOutputTokens: this.#options.maxOutputTokens,
      signal: controller.signal,
      onActivity: armTimer,
      streamed,
    };
    try {
      return request.onTextDelta
        ? await streamOnce(request, settings)
        : await generateOnce(request, settings);
    } catch (error) {
      // The AI SDK reports an aborted call as its own AbortError; the reason says whether it was our timeout.
      if (controller.signal.aborted && controller.signal.reason instanceof AttemptTimeoutError) {
        throw controller.signal.reason;
      }
      throw error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

function modelName(config: AiSdkModelConfig): string {
  return config.model ?? config.languageModel.modelId;
}

function validateOptions(options: AiSdkChatClientOptions): void {
  const configList = options?.configList;
  if (!Array.isArray(configList) || configList.length === 0) {
    throw new AiSdkOptionError(
      "AiSdkChatClient needs a non-empty `configList`, e.g. [{ languageModel: anthropic('claude-sonnet-4-5') }].",
    );
  }
  for (const [index, config] of configList.entries()) {
    const languageModel = config?.languageModel as unknown;
    if (typeof languageModel === 'string') {
      throw new AiSdkOptionError(
        `configList[${index}].languageModel is the string '${languageModel}': give the provider's model object instead (e.g. anthropic('${languageModel}') from @ai-sdk/anthropic), so no call goes to a gateway you did not configure.`,
      );
    }
    if (
      typeof languageModel !== 'object' ||
      languageModel === null ||
      typeof (languageModel as { doGenerate?: unknown }).doGenerate !== 'function'
    ) {
      throw new AiSdkOptionError(
        `configList[${index}] needs \`languageModel\`, an AI SDK model object such as anthropic('claude-sonnet-4-5') or google('gemini-2.5-flash').`,
      );
    }
  }
  for (const key of ['timeoutMs', 'retryBaseDelayMs', 'maxRetryDelayMs', 'maxRetries'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new AiSdkOptionError(
        `AiSdkChatClient option \`${key}\` must be a finite number >= 0; got ${value}.`,
      );
    }
  }
}
