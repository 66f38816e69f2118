import { parseRetryAfterMs } from '@hopgen/agents/internal';
import { APICallError } from 'ai';

/** How one failed attempt is handled: again on the same config, or the next config. */
export type FailureKind = 'retryable' | 'fatal-for-config';

/** Our per-attempt timeout fired (the caller's own signal did not). */
export class AttemptTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms (timeoutMs)`);
    this.name = 'AttemptTimeoutError';
  }
}

/**
 * Classifies an error of an AI SDK call. The providers mark 408, 409, 429, 5xx and failed connections
 * as retryable on `APICallError`; everything else (400, 401, 404, a prompt the provider rejects) moves
 * on to the next config.
 */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof AttemptTimeoutError) return 'retryable';
  if (APICallError.isInstance(error)) return error.isRetryable ? 'retryable' : 'fatal-for-config';
  return 'fatal-for-config';
}

/** The wait the provider asked for with `retry-after-ms` or `Retry-After`, in milliseconds, if any. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!APICallError.isInstance(error) || !error.responseHeaders) return undefined;
  const headers = new Headers(error.responseHeaders);
  return parseRetryAfterMs(headers.get('retry-after-ms'), headers.get('retry-after'));
}
