import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelResponse } from './model-client.js';

/** What the cache keeps of one answer. */
export interface CachedResponse {
  message: ModelResponse['message'];
  model: string;
  usage: ModelResponse['usage'];
  finishReason?: string;
}

/** A store of model answers by request key (AutoGen's `Cache`). Implementations must never throw on a bad entry. */
export interface ResponseCache {
  /** The answer stored under `key`, or `undefined` when there is none (or it is unreadable). */
  get(key: string): Promise<CachedResponse | undefined>;
  /** Stores `value` under `key`, replacing what was there. */
  set(key: string, value: CachedResponse): Promise<void>;
}

/** Keys of a request that never enter the cache key: secrets and where the request goes. */
const KEYS_NOT_IN_CACHE_KEY = new Set([
  'apiKey',
  'api_key',
  'baseURL',
  'base_url',
  'api_type',
  'api_version',
  'azure_ad_token',
  'azure_ad_token_provider',
  'credentials',
  'tool_config',
  'price',
  'tags',
  'stream',
  'stream_options',
]);

/**
 * The cache key of a request: its JSON with object keys sorted (AutoGen's `json.dumps(params, sort_keys=True)`)
 * without API keys, base URLs and other secrets, so a cache can be shared without leaking them.
 * `stream` is left out too: a streamed and a plain answer are the same answer.
 */
export function cacheKey(params: Record<string, unknown>): string {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!KEYS_NOT_IN_CACHE_KEY.has(key) && value !== undefined) kept[key] = value;
  }
  return stableStringify(kept);
}

function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, inner) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

/** True when `value` has the shape of a {@link CachedResponse}; anything else is treated as a miss. */
export function isCachedResponse(value: unknown): value is CachedResponse {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<CachedResponse>;
  const message = candidate.message;
  const usage = candidate.usage;
  return (
    typeof candidate.model === 'string' &&
    typeof message === 'object' &&
    message !== null &&
    message.role === 'assistant' &&
    (typeof message.content === 'string' || message.content === null) &&
    (message.tool_calls === undefined || Array.isArray(message.tool_calls)) &&
    typeof usage === 'object' &&
    usage !== null &&
    typeof usage.promptTokens === 'number' &&
    typeof usage.completionTokens === 'number' &&
    typeof usage.totalTokens === 'number' &&
    (typeof usage.cost === 'number' || usage.cost === null)
  );
}

/** A response cache in this process's memory (AutoGen's `InMemoryCache`). */
export class InMemoryResponseCache implements ResponseCache {
  readonly #entries = new Map<string, string>();

  /** The answer under `key`, as a fresh copy. */
  async get(key: string): Promise<CachedResponse | undefined> {
    const stored = this.#entries.get(key);
    return stored === undefined ? undefined : (JSON.parse(stored) as CachedResponse);
  }

  /** Stores a copy of `value`. */
  async set(key: string, value: CachedResponse): Promise<void> {
    this.#entries.set(key, JSON.stringify(value));
  }

  /** Number of stored answers. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every answer. */
  clear(): void {
    this.#entries.clear();
  }
}

/** Options of {@link DiskResponseCache}. */
export interface DiskResponseCacheOptions {
  /** Seed naming the cache directory; different seeds never share answers. @default 41 */
  seed?: number | string;
  /** Directory holding one folder per seed. @default '.cache' (relative to the working directory) */
  root?: string;
}

/**
 * A response cache on disk under `<root>/<seed>/`, one JSON file per request key (named by its SHA-256).
 * Writes go to a temporary file that is renamed into place, so processes sharing the directory never see
 * a half-written entry; an unreadable or corrupt entry counts as a miss and is rewritten by the next answer.
 */
export class DiskResponseCache implements ResponseCache {
  /** The directory of this seed's entries. */
  readonly directory: string;

  constructor(options: DiskResponseCacheOptions = {}) {
    this.directory = join(options.root ?? '.cache', String(options.seed ?? 41));
  }

  /** Path of the file holding `key`'s answer. */
  pathFor(key: string): string {
    return join(this.directory, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  /** The answer under `key`, or `undefined` when missing, unreadable or corrupt. */
  async get(key: string): Promise<CachedResponse | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathFor(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as { key?: unknown; response?: unknown };
      // The stored key guards against a file copied or renamed by hand.
      if (entry.key !== key || !isCachedResponse(entry.response)) return undefined;
      return entry.response;
    } catch {
      return undefined;
    }
  }

  /** Stores `value` atomically (temporary file + rename). */
  async set(key: string, value: CachedResponse): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const target = this.pathFor(key);
    const temporary = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify({ key, response: value }), 'utf8');
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
