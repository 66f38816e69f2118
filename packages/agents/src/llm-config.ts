import type { ModelClient } from './model-clients/model-client.js';
import type { ResponseCache } from './model-clients/response-cache.js';
import type { ToolDefinition } from './tools/tool-types.js';

/** One model endpoint in a config list (AutoGen's `config_list` entries, camelCased). */
export interface ModelConfig {
  /** Model name as the endpoint knows it, e.g. `gpt-4o-mini`. */
  model: string;
  /** API key. @default process.env.OPENAI_API_KEY */
  apiKey?: string;
  /** Endpoint base URL, e.g. `http://127.0.0.1:11434/v1` for Ollama. @default process.env.OPENAI_BASE_URL or OpenAI's */
  baseURL?: string;
  /** Price override in US dollars per 1,000 tokens: `[prompt, completion]`. */
  price?: [number, number];
  /** Free-form tags used by `filterConfig`. */
  tags?: string[];
  /** Any other field is kept and can be used by `filterConfig`. */
  [key: string]: unknown;
}

/**
 * How an agent talks to a model. Either a ready `modelClient` or a `configList` from which an
 * `OpenAIChatClient` is built.
 */
export interface LlmConfig {
  /** A ready client (for example a `ScriptedModelClient`); wins over `configList`. */
  modelClient?: ModelClient;
  /** Endpoints tried in order until one answers. */
  configList?: ModelConfig[];
  /** Sampling temperature passed to the model. @default the endpoint's default */
  temperature?: number;
  /** Timeout of one HTTP attempt, in **milliseconds**. @default 600_000 */
  timeoutMs?: number;
  /** Retries per config on 429, 5xx, connection errors and timeouts. @default 2 */
  maxRetries?: number;
  /** Seed of the disk response cache under `.cache/<seed>/`; `null` disables caching. @default 41 */
  cacheSeed?: number | null;
  /**
   * A response cache to use instead of the disk cache, e.g. `new InMemoryResponseCache()`; wins over
   * `cacheSeed`. @default a `DiskResponseCache` for `cacheSeed`
   */
  cache?: ResponseCache;
  /** Directory of the disk cache; entries go to `<cachePathRoot>/<cacheSeed>/`. @default '.cache' */
  cachePathRoot?: string;
  /** First backoff step of our retry loop, in **milliseconds**; doubles each retry, with jitter. @default 500 */
  retryBaseDelayMs?: number;
  /**
   * Longest wait between two attempts, in **milliseconds**. A `Retry-After` asking for more makes the client
   * move on to the next config instead of waiting. @default 60_000
   */
  maxRetryDelayMs?: number;
  /** Stream answers and emit `text-delta` events. @default false */
  stream?: boolean;
  /**
   * Most images sent in one prompt: older image parts (charts from earlier code runs) become `<image>` text
   * in the prompt; the transcript keeps them. @default 4
   */
  maxImagesInPrompt?: number;
  /** Tools the model may call; `registerForLlm` adds to this list. */
  tools?: ToolDefinition[];
  /**
   * Other chat-completion request fields, sent to the model as they are (e.g. `{ top_p: 0.9 }`). The
   * config itself is closed, so a misspelt option is an error rather than a field sent to the model.
   * @default {}
   */
  requestParameters?: Record<string, unknown>;
}
