import { InMemoryRunStore } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { createRequestHandler, type ServeOptions, ServeOptionsError } from '../src/index.js';
import { askingTeam } from './support/test-pipelines.js';

const pipeline = askingTeam('http://127.0.0.1:9/v1', { name: 'asking' });

function refusal(options: Partial<ServeOptions>): ServeOptionsError {
  try {
    createRequestHandler({ pipelines: [pipeline], store: new InMemoryRunStore(), ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ServeOptionsError);
    return error as ServeOptionsError;
  }
  throw new Error('the options were accepted');
}

describe('serve options', () => {
  it('refuses an origin no browser sends, naming the origin to give', () => {
    expect(refusal({ allowedOrigins: ['http://localhost:3000/'] }).message).toContain(
      '"http://localhost:3000"',
    );
    expect(refusal({ allowedOrigins: ['http://localhost:3000/app'] }).message).toContain(
      '"http://localhost:3000"',
    );
    expect(refusal({ allowedOrigins: ['localhost:3000'] }).message).toContain(
      'allowedOrigins has "localhost:3000"',
    );
  });

  it('refuses a host with a scheme or a path', () => {
    expect(refusal({ allowedHosts: ['http://hopgen.internal:8080'] }).message).toContain('allowedHosts');
    expect(refusal({ allowedHosts: ['hopgen.internal/api'] }).message).toContain(
      'e.g. "hopgen.internal:8080"',
    );
  });

  it('refuses a body cap that is not a positive number of bytes, and a short token', () => {
    expect(refusal({ maxBodyBytes: 0 }).message).toContain('maxBodyBytes is 0');
    expect(refusal({ maxBodyBytes: Number.NaN }).message).toContain('maxBodyBytes is NaN');
    expect(refusal({ token: 'short' }).message).toContain('at least 16');
  });

  it('refuses a cancel poll that is not a number of milliseconds a Node timer can wait', () => {
    expect(refusal({ cancelPollMs: 0 }).message).toContain('cancelPollMs is 0');
    // Node turns a longer timer into a 1 ms one: the poll would read the store in a tight loop.
    expect(refusal({ cancelPollMs: 1e10 }).message).toContain('from 1 to 2147483647');
  });

  it('refuses two pipelines of one name', () => {
    expect(refusal({ pipelines: [pipeline, pipeline] }).message).toContain(
      'Two pipelines are named "asking"',
    );
  });

  it('accepts what it documents', () => {
    const handler = createRequestHandler({
      pipelines: [pipeline],
      store: new InMemoryRunStore(),
      allowedOrigins: ['http://localhost:3000', 'https://app.example'],
      allowedHosts: ['hopgen.internal:8080', '[::1]:4311', 'localhost'],
      maxBodyBytes: 4096,
    });
    expect(handler.token.length).toBeGreaterThanOrEqual(32);
  });
});
