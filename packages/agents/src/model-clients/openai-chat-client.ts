import OpenAI from 'openai';
import { InvalidOptionError, ModelClientError } from '../errors.js';
import type { LlmConfig, ModelConfig } from '../llm-config.js';
import { type ToolCall, toModelMessages } from '../message.js';
import { assertDurationMs } from '../timer-limits.js';
import { normalizeToolName } from '../tools/tool-name.js';
import {
  AllConfigsFailedError,
  answerFromConfigList,
  type ConfigOutcome,
  describeModelError,
} from './config-fallback.js';
import { normalizeConfigKeys } from './config-list.js';
import type { ModelClient, ModelRequest, ModelResponse } from './model-client.js';
import { computeCost, knownModelPrice } from './prices.js';
import { type CachedResponse, cacheKey, DiskResponseCache, type ResponseCache } from './response-cache.js';
import {
  classifyFailure,
  IncompleteStreamError,
  retryDelayMs,
  StreamStalledError,
  sleep,
} from './retry-policy.js';
import { StreamAssembler } from './stream-assembler.js';
import { type UsageReport, UsageTracker } from './usage.js';

/** What `OpenAIChatClient.create` returns: a {@link ModelResponse} plus where it came from. */
export interface OpenAIChatResponse extends ModelResponse {
  /** Index in `configList` of the config that answered. */
  configIndex: number;
  /** HTTP attempts made for this answer, over all configs (0 for a cache hit). */
  attempts: number;
}

/** A config has no API key, and neither `OPENAI_API_KEY` nor a `baseURL` to a local server is set. */
export class MissingModelApiKeyError extends ModelClientError {
  constructor(model: string) {
    super(
      `No API key for model ${model}: set OPENAI_API_KEY or give \`apiKey\` in its config. For a local OpenAI-compatible server, give its \`baseURL\` (or OPENAI_BASE_URL) instead.`,
    );
  }
}

/** The model refused for content-policy reasons; not retried, no other config tried (as in AutoGen). */
export class ContentFilterError extends ModelClientError {}

// AutoGen llm_config keys that would otherwise be sent to the model and fail every request with a 400.
const AUTOGEN_ONLY_KEYS: Record<string, string> = {
  config_list: 'use `configList`',
  timeout: 'use `timeoutMs`, in milliseconds',
  max_retries: 'use `maxRetries`',
  cache_seed: 'use `cacheSeed`',
  api_type: 'hopgen speaks the OpenAI-compatible API; remove it and set `baseURL` for other endpoints',
  api_version: 'remove it; put the version in `baseURL` if the endpoint needs one',
  filter_func: 'not supported; check the reply in a reply function or hook instead',
  model_client_cls: 'pass a ready client as `modelClient`',
};

/** Throws `InvalidOptionError` naming the fix for any `llmConfig` key hopgen does not know. */
export function rejectUnknownKeys(config: LlmConfig): void {
  for (const [key, advice] of Object.entries(AUTOGEN_ONLY_KEYS)) {
    if (key in config)
      throw new InvalidOptionError(`llmConfig.${key} is AutoGen's option, not hopgen's: ${advice}.`);
  }
  // JavaScript callers get no type check, so a misspelt option must not silently become a request field.
  for (const key of Object.keys(config)) {
    if (!CLIENT_KEYS.has(key))
      throw new InvalidOptionError(
        `llmConfig.${key} is not an llmConfig option: fix its spelling, or put fields for the model request in \`requestParameters\` (e.g. { requestParameters: { ${key}: ... } }).`,
      );
  }
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_RETRY_BASE_DELAY_MS = 500;
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
const OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** The keys of `llmConfig`; any other key is refused. */
const CLIENT_KEYS = new Set([
  'modelClient',
  'configList',
  'temperature',
  'timeoutMs',
  'maxRetries',
  'cacheSeed',
  'cache',
  'cachePathRoot',
  'retryBaseDelayMs',
  'maxRetryDelayMs',
  'stream',
  'maxImagesInPrompt',
  'tools',
  'requestParameters',
]);

/**
 * A model client for OpenAI and any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server,
 * LM Studio), on the official `openai` SDK. Tries `configList` in order (AutoGen's fallback), retries
 * 429, 5xx, connection errors and timeouts with exponential backoff that honours `Retry-After`, caches
 * answers (`cacheSeed` / `cache`), streams when `stream` is set, and counts tokens and cost.
 */
export class OpenAIChatClient implements ModelClient {
  readonly #config: LlmConfig;
  readonly #usage = new UsageTracker();
  readonly #sdkClients = new Map<number, OpenAI>();
  readonly #cache: ResponseCache | undefined;

  constructor(config: LlmConfig) {
    const configList = config.configList ?? [];
    if (
      configList.length === 0 ||
      configList.some((entry) => typeof entry?.model !== 'string' || !entry.model)
    ) {
      throw new InvalidOptionError(
        "OpenAIChatClient needs llmConfig.configList with at least one entry, each naming a `model` (e.g. [{ model: 'gpt-4o-mini' }]).",
      );
    }
    rejectUnknownKeys(config);
    if (config.timeoutMs !== undefined) assertDurationMs('timeoutMs', config.timeoutMs);
    // AutoGen's snake_case `api_key` / `base_url` are accepted too.
    this.#config = { ...config, configList: configList.map((entry) => normalizeConfigKeys(entry)) };
    if (config.cache) this.#cache = config.cache;
    else if (config.cacheSeed !== null) {
      this.#cache = new DiskResponseCache({
        seed: config.cacheSeed ?? 41,
        root: config.cachePathRoot ?? '.cache',
      });
    }
  }

  /** Sends the request to the first config that answers, from the cache when it has the answer. */
  async create(request: ModelRequest): Promise<OpenAIChatResponse> {
    const configList = this.#config.configList ?? [];
    const params = configList.map((modelConfig) => this.#params(modelConfig, request));
    try {
      return await answerFromConfigList({
        configCount: configList.length,
        request,
        cache: this.#cache,
        usage: this.#usage,
        cacheKey: (configIndex) => cacheKey(params[configIndex]!),
        call: (configIndex) =>
          this.#callWithRetries(configIndex, configList[configIndex]!, params[configIndex]!, request),
      });
    } catch (error) {
      // A lone config without a key is a setup mistake, not a failed call: its own message says it all.
      const only =
        error instanceof AllConfigsFailedError && error.failures.length === 1 ? error.failures[0] : undefined;
      if (only?.error instanceof MissingModelApiKeyError) throw only.error;
      throw error;
    }
  }

  /** Usage so far, with and without cached answers. */
  usage(): UsageReport {
    return this.#usage.report();
  }

  /** Forgets the usage counted so far. */
  clearUsage(): void {
    this.#usage.clear();
  }

  /** Models of the config list with neither a `price` nor a price hopgen knows. */
  unpricedModels(): string[] {
    return (this.#config.configList ?? [])
      .filter((entry) => entry.price === undefined && knownModelPrice(entry.model) === undefined)
      .map((entry) => entry.model);
  }

  /** The chat-completion request body for one config (no secrets in it). */
  #params(modelConfig: ModelConfig, request: ModelRequest): Record<string, unknown> {
    const params: Record<string, unknown> = { ...this.#config.requestParameters };
    params['model'] = modelConfig.model;
    params['messages'] = toModelMessages(request.messages);
    const tools = request.tools ?? this.#config.tools;
    if (tools && tools.length > 0) params['tools'] = tools;
    if (this.#config.temperature !== undefined) params['temperature'] = this.#config.temperature;
    // Part of the cache key too, so answers for one schema never serve another.
    if (request.responseFormat) params['response_format'] = request.responseFormat;
    return params;
  }

  async #callWithRetries(
    configIndex: number,
    modelConfig: ModelConfig,
    params: Record<string, unknown>,
    request: ModelRequest,
  ): Promise<ConfigOutcome> {
    const maxRetries = this.#config.maxRetries ?? DEFAULT_MAX_RETRIES;
    const baseURL = modelConfig.baseURL ?? process.env['OPENAI_BASE_URL'] ?? OPENAI_BASE_URL;
    const fail = (error: unknown, attempts: number) => ({
      failure: { configIndex, model: modelConfig.model, baseURL, attempts, error },
      attempts,
    });
    let client: OpenAI;
    try {
      client = this.#sdkClient(configIndex, modelConfig);
    } catch (error) {
      return fail(error, 0);
    }
    for (let attempt = 1; ; attempt++) {
      const streamed = { any: false };
      try {
        const answer = this.#config.stream
          ? await this.#streamOnce(client, modelConfig, params, request, streamed)
          : await this.#createOnce(client, modelConfig, params, request);
        return { answer, attempts: attempt };
      } catch (error) {
        const kind = request.signal?.aborted ? 'aborted' : classifyFailure(error);
        if (kind === 'aborted') throw request.signal?.reason ?? error;
        if (kind === 'content-filter') {
          throw new ContentFilterError(
            `The model ${modelConfig.model} refused the request for content-policy reasons (content_filter); it was not retried. Rephrase the request.`,
            { cause: error },
          );
        }
        if (streamed.any) {
          // Text already shown cannot be taken back: replaying the call (here or on another config) would show it twice.
          throw new ModelClientError(
            `The answer of model ${modelConfig.model} at ${baseURL} broke off after part of it was streamed (${describeModelError(error)}); it was not retried so no text is shown twice. Send the request again.`,
            { cause: error },
          );
        }
        if (kind !== 'retryable' || attempt > maxRetries) return fail(error, attempt);
        const delay = retryDelayMs(attempt - 1, error, {
          baseDelayMs: this.#config.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
          maxDelayMs: this.#config.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
        });
        if (delay === undefined) return fail(error, attempt);
        await sleep(delay, request.signal);
      }
    }
  }

  #sdkClient(configIndex: number, modelConfig: ModelConfig): OpenAI {
    const existing = this.#sdkClients.get(configIndex);
    if (existing) return existing;
    const baseURL = modelConfig.baseURL ?? process.env['OPENAI_BASE_URL'] ?? undefined;
    let apiKey = modelConfig.apiKey ?? process.env['OPENAI_API_KEY'];
    if (!apiKey) {
      if (baseURL === undefined) {
        throw new MissingModelApiKeyError(modelConfig.model);
      }
      // Local servers (Ollama, vLLM, llama.cpp, LM Studio) ignore the key but the SDK requires one.
      apiKey = 'no-key-needed';
    }
    const client = new OpenAI({
      apiKey,
      ...(baseURL !== undefined ? { baseURL } : {}),
      timeout: this.#config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // Retries are ours (counted, with fallback between configs), so the SDK must not retry on its own.
      maxRetries: 0,
    });
    this.#sdkClients.set(configIndex, client);
    return client;
  }

  async #createOnce(
    client: OpenAI,
    modelConfig: ModelConfig,
    params: Record<string, unknown>,
    request: ModelRequest,
  ): Promise<CachedResponse> {
    const completion = await client.chat.completions.create(
      {
        ...params,
        stream: false,
      } as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
      { signal: request.signal },
    );
    const choice = completion.choices?.[0];
    const toolCalls = (choice?.message?.tool_calls ?? []).flatMap((call) =>
      call.type === 'function'
        ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }]
        : [],
    );
    return this.#answer(modelConfig, {
      model: completion.model || modelConfig.model,
      content: choice?.message?.content ?? null,
      toolCalls,
      finishReason: choice?.finish_reason ?? undefined,
      usage: completion.usage ?? undefined,
    });
  }

  async #streamOnce(
    client: OpenAI,
    modelConfig: ModelConfig,
    params: Record<string, unknown>,
    request: ModelRequest,
    streamed: { any: boolean },
  ): Promise<CachedResponse> {
    const stream = await client.chat.completions.create(
      {
        ...params,
        stream: true,
        stream_options: { include_usage: true },
      } as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming,
      { signal: request.signal },
    );
    const assembler = new StreamAssembler();
    // The SDK's timeout ends when the headers arrive; a stream that then goes silent is stopped here.
    const idleMs = this.#config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let stalled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        stalled = true;
        stream.controller.abort();
      }, idleMs);
    };
    armIdleTimer();
    try {
      for await (const chunk of stream) {
        armIdleTimer();
        const text = assembler.add(chunk);
        if (text) {
          streamed.any = true;
          request.onTextDelta?.(text);
        }
      }
    } catch (error) {
      if (stalled && !request.signal?.aborted) throw new StreamStalledError(idleMs);
      throw error;
    } finally {
      clearTimeout(idleTimer);
    }
    if (stalled && !request.signal?.aborted) throw new StreamStalledError(idleMs);
    const result = assembler.result();
    // The SDK ends the iteration quietly when the connection drops mid-stream.
    if (result.hadChoice && result.finishReason === undefined) throw new IncompleteStreamError();
    return this.#answer(modelConfig, { ...result, model: result.model || modelConfig.model });
  }

  #answer(
    modelConfig: ModelConfig,
    raw: {
      model: string;
      content: string | null;
      toolCalls: { id: string; name: string; arguments: string }[];
      finishReason: string | undefined;
      usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | undefined;
    },
  ): CachedResponse {
    const promptTokens = raw.usage?.prompt_tokens ?? 0;
    const completionTokens = raw.usage?.completion_tokens ?? 0;
    const message: CachedResponse['message'] = { role: 'assistant', content: raw.content };
    if (raw.toolCalls.length > 0) {
      message.tool_calls = raw.toolCalls.map(
        (call): ToolCall => ({
          id: call.id,
          type: 'function',
          // AutoGen normalises the names models send (`multi_tool_call.echo` -> `multi_tool_call_echo`).
          function: { name: normalizeToolName(call.name), arguments: call.arguments },
        }),
      );
    }
    const answer: CachedResponse = {
      message,
      model: raw.model,
      usage: {
        promptTokens,
        completionTokens,
        totalTokens: raw.usage?.total_tokens ?? promptTokens + completionTokens,
        cost: computeCost([raw.model, modelConfig.model], promptTokens, completionTokens, modelConfig.price),
      },
    };
    if (raw.finishReason !== undefined) answer.finishReason = raw.finishReason;
    return answer;
  }
}
