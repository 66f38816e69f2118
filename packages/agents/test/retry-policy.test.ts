import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyFailure, retryAfterMs, retryDelayMs, sleep } from '../src/model-clients/retry-policy.js';

function apiError(status: number, headers: Record<string, string> = {}, code?: string) {
  return OpenAI.APIError.generate(status, { error: { message: 'x', code } }, 'x', new Headers(headers));
}

const timing = { baseDelayMs: 100, maxDelayMs: 1000 };

describe('retry policy', () => {
  it('retries 408, 429, 5xx, connection errors and timeouts, and nothing else', () => {
    expect(classifyFailure(apiError(429))).toBe('retryable');
    expect(classifyFailure(apiError(408))).toBe('retryable');
    expect(classifyFailure(apiError(503))).toBe('retryable');
    expect(classifyFailure(new OpenAI.APIConnectionError({ message: 'refused' }))).toBe('retryable');
    expect(classifyFailure(new OpenAI.APIConnectionTimeoutError())).toBe('retryable');
    expect(classifyFailure(apiError(400))).toBe('fatal-for-config');
    expect(classifyFailure(apiError(401))).toBe('fatal-for-config');
    expect(classifyFailure(apiError(400, {}, 'content_filter'))).toBe('content-filter');
    expect(classifyFailure(new OpenAI.APIUserAbortError())).toBe('aborted');
  });

  it('reads retry-after-ms, Retry-After seconds and Retry-After dates', () => {
    expect(retryAfterMs(apiError(429, { 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(apiError(429, { 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(apiError(429, { 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(apiError(429, { 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(apiError(429))).toBeUndefined();
  });

  it('backs off exponentially with jitter between 50% and 100%, capped', () => {
    const error = apiError(500);
    expect(retryDelayMs(0, error, timing, () => 0)).toBe(50);
    expect(retryDelayMs(0, error, timing, () => 1)).toBe(100);
    expect(retryDelayMs(2, error, timing, () => 1)).toBe(400);
    expect(retryDelayMs(10, error, timing, () => 1)).toBe(1000);
    expect(retryDelayMs(10, error, timing, () => 0)).toBe(500);
  });

  it("honours the server's delay, and gives up on a config that asks for too long", () => {
    expect(retryDelayMs(0, apiError(429, { 'retry-after': '0.5' }), timing, () => 0)).toBe(500);
    expect(retryDelayMs(0, apiError(429, { 'retry-after': '5' }), timing)).toBeUndefined();
  });

  it('sleeps until aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
