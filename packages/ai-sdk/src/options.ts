import type { LanguageModelV2, LanguageModelV3, SharedV3ProviderOptions } from '@ai-sdk/provider';
import type { ResponseCache } from '@hopgen/agents';

/** A model object of any AI SDK provider: `anthropic('claude-sonnet-4-5')`, `google('gemini-2.5-flash')`... */
export type AiSdkLanguageModel = LanguageModelV3 | LanguageModelV2;

/** One entry of the config list: an AI SDK model and what hopgen needs to know about it. */
export interface AiSdkModelConfig {
  /** The AI SDK model to call, built by its provider package (e.g. `anthropic('claude-sonnet-4-5')`). */
  languageModel: AiSdkLanguageModel;
  /** Model name used in usage summaries, cache keys and errors. @default `languageModel.modelId` */
  model?: string;
  /**
   * Price override in US dollars per 1,000 tokens: `[prompt, completion]` (AutoGen's unit). Without it,
   * OpenAI models are priced from hopgen's table and any other model reports its cost as unknown (`null`).
   */
  price?: [number, number];
  /** Provider-specific options passed to the AI SDK call, e.g. `{ anthropic: { thinking: ... } }`. */
  providerOptions?: SharedV3ProviderOptions;
  /** Free-form tags used by `filterConfig`. */
  tags?: string[];
}

/** Options of {@link AiSdkChatClient}. */
export interface AiSdkChatClientOptions {
  /** Models tried in order until one answers (AutoGen's config-list fallback); may mix providers. */
  configList: AiSdkModelConfig[];
  /** Sampling temperature. @default the provider's default */
  temperature?: number;
  /** Longest answer, in tokens. @default the provider's default (the Anthropic provider asks for 4096) */
  maxOutputTokens?: number;
  /** Timeout of one attempt, in **milliseconds**; a streamed answer may not go silent for longer either. @default 600_000 */
  timeoutMs?: number;
  /** Retries per config on 408, 409, 429, 5xx, connection errors and timeouts. @default 2 */
  maxRetries?: number;
  /** First backoff step, in **milliseconds**; doubles each retry, with jitter. @default 500 */
  retryBaseDelayMs?: number;
  /**
   * Longest wait between two attempts, in **milliseconds**. A `Retry-After` asking for more makes the
   * client move on to the next config instead of waiting. @default 60_000
   */
  maxRetryDelayMs?: number;
  /** Seed of the disk response cache under `<cachePathRoot>/<cacheSeed>/`; `null` disables caching. @default 41 */
  cacheSeed?: number | null;
  /** A response cache to use instead of the disk cache; wins over `cacheSeed`. @default a `DiskResponseCache` */
  cache?: ResponseCache;
  /** Directory of the disk cache. @default '.cache' */
  cachePathRoot?: string;
}
