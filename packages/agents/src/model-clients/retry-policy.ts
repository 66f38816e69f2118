import OpenAI from 'openai';

/** How one failed HTTP attempt is handled. */
export type FailureKind =
  /** Worth another attempt on the same config: 408, 429, 5xx, connection errors, timeouts. */
  | 'retryable'
  /** A content-filter refusal: neither retried nor sent to another config (AutoGen re-raises it). */
  | 'content-filter'
  /** The caller aborted: stop everything. */
  | 'aborted'
  /** Anything else (400, 401, 404...): this config is skipped and the next one is tried. */
  | 'fatal-for-config';

/** A streamed answer ended before the model finished (no `finish_reason`): the connection broke. */
export class IncompleteStreamError extends Error {
  constructor() {
    super('the stream ended before the model finished (no finish_reason); the connection probably broke');
    this.name = 'IncompleteStreamError';
  }
}

/** A streamed answer sent nothing for `timeoutMs` (the SDK's own timeout stops at the response headers). */
export class StreamStalledError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the stream sent nothing for ${timeoutMs} ms (timeoutMs) and was given up`);
    this.name = 'StreamStalledError';
  }
}

/** Classifies an error thrown by the `openai` SDK. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof IncompleteStreamError || error instanceof StreamStalledError) return 'retryable';
  if (isDroppedConnection(error)) return 'retryable';
  if (error instanceof OpenAI.APIUserAbortError) return 'aborted';
  if (error instanceof OpenAI.APIConnectionError) return 'retryable';
  if (error instanceof OpenAI.APIError) {
    if (isContentFilter(error)) return 'content-filter';
    const status = error.status;
    if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return 'retryable';
    return 'fatal-for-config';
  }
  return 'fatal-for-config';
}

const SOCKET_ERROR_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE']);

/** A connection cut while a streamed body was read: undici's `TypeError: terminated` (the SDK does not wrap it). */
function isDroppedConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
  return (
    (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) ||
    (error instanceof TypeError && error.message === 'terminated')
  );
}

function isContentFilter(error: InstanceType<typeof OpenAI.APIError>): boolean {
  if (error.code === 'content_filter') return true;
  const inner = error.error as { code?: unknown; innererror?: { code?: unknown } } | undefined;
  return inner?.innererror?.code === 'ResponsibleAIPolicyViolation';
}

/**
 * The wait the server asked for, in milliseconds, from `retry-after-ms` (OpenAI) or `Retry-After`
 * (seconds or an HTTP date); `undefined` when it asked for nothing usable.
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  const headers = error instanceof OpenAI.APIError ? error.headers : undefined;
  if (!headers) return undefined;
  return parseRetryAfterMs(headers.get('retry-after-ms'), headers.get('retry-after'), now);
}

/**
 * The wait asked for by the values of the `retry-after-ms` and `Retry-After` headers (each `null` or
 * `undefined` when absent), in milliseconds; `undefined` when neither is usable. Shared by every model client.
 */
export function parseRetryAfterMs(
  retryAfterMsHeader: string | null | undefined,
  retryAfterHeader: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const milliseconds = Number.parseFloat(retryAfterMsHeader ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  if (retryAfterHeader === null || retryAfterHeader === undefined || retryAfterHeader.trim() === '') {
    return undefined;
  }
  const seconds = Number(retryAfterHeader);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(retryAfterHeader);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Settings of the retry loop. */
export interface RetryTiming {
  /** First backoff step in milliseconds; doubles each retry. */
  baseDelayMs: number;
  /** Longest wait between two attempts in milliseconds; a longer `Retry-After` gives up on the config. */
  maxDelayMs: number;
}

/**
 * Milliseconds to wait before retry number `retry` (0-based), or `undefined` when the server asked for
 * a longer wait than `maxDelayMs` (then the next config is tried instead). Exponential with jitter:
 * a random value in [50%, 100%] of `baseDelayMs * 2^retry`, capped, unless the server named a delay.
 */
export function retryDelayMs(
  retry: number,
  error: unknown,
  timing: RetryTiming,
  random: () => number = Math.random,
): number | undefined {
  return backoffDelayMs(retry, retryAfterMs(error), timing, random);
}

/**
 * Like {@link retryDelayMs}, with the server's asked-for wait (`askedMs`, milliseconds) already read from
 * whatever error type the client's SDK throws.
 */
export function backoffDelayMs(
  retry: number,
  askedMs: number | undefined,
  timing: RetryTiming,
  random: () => number = Math.random,
): number | undefined {
  if (askedMs !== undefined) return askedMs > timing.maxDelayMs ? undefined : askedMs;
  const exponential = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** retry);
  return Math.round(exponential * (0.5 + random() * 0.5));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
