import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore } from '@hopgen/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { type RunningServer, serve } from '../src/index.js';
import { callApi, readEvents } from './support/api-client.js';
import { askingTeam } from './support/test-pipelines.js';

let directory: string;
let model: OpenAITestServer;
let server: RunningServer;
let store: FileRunStore;
let requestPath: string;

/** Everything stored, to show that a refused request changed nothing. */
async function storeContents(): Promise<string> {
  const runs = [];
  for (const runId of (await store.listRuns()).sort()) runs.push(await store.loadRun(runId));
  return JSON.stringify(runs);
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-security-'));
  store = new FileRunStore({ directory });
  model = await startOpenAITestServer(() => ({ content: 'Done.' }));
  server = await serve({
    pipelines: [askingTeam(model.baseURL, { name: 'asking' })],
    store,
    maxBodyBytes: 4096,
    allowedOrigins: ['http://localhost:3000'],
  });
  // One run waits for a person, so refused answers have something they could have changed.
  await callApi(server.url, 'POST', '/api/runs', {
    token: server.token,
    body: { pipeline: 'asking', input: { task: 'Hi.' }, runId: 'waiting' },
  });
  await readEvents(server.url, server.token, 'waiting', {
    until: (event) => event.data.type === 'human-input-requested',
  });
  const detail = await callApi(server.url, 'GET', '/api/runs/waiting', { token: server.token });
  requestPath = `/api/runs/waiting/requests/${encodeURIComponent(detail.body.requests[0].requestId)}/input`;
});

afterAll(async () => {
  await server.close();
  await model.close();
  await rm(directory, { recursive: true, force: true });
});

const startBody = { pipeline: 'asking', input: { task: 'Hi.' }, runId: 'intruder' };

describe('refused requests change no run', () => {
  const cases: Array<{
    name: string;
    send: () => ReturnType<typeof callApi>;
    status: number;
    code: string;
  }> = [
    {
      name: 'no token',
      send: () => callApi(server.url, 'POST', '/api/runs', { body: startBody }),
      status: 401,
      code: 'token-missing',
    },
    {
      name: 'a wrong token',
      send: () => callApi(server.url, 'POST', requestPath, { token: 'x'.repeat(32), body: { text: 'exit' } }),
      status: 401,
      code: 'token-wrong',
    },
    {
      name: 'a foreign Host header (DNS rebinding)',
      send: () =>
        callApi(server.url, 'POST', requestPath, {
          token: server.token,
          body: { text: 'exit' },
          headers: { host: 'evil.example:80' },
        }),
      status: 421,
      code: 'host-not-allowed',
    },
    {
      name: 'a cross-origin request',
      send: () =>
        callApi(server.url, 'POST', '/api/runs', {
          token: server.token,
          body: startBody,
          headers: { origin: 'http://evil.example' },
        }),
      status: 403,
      code: 'origin-not-allowed',
    },
    {
      name: 'an oversized body',
      send: () =>
        callApi(server.url, 'POST', requestPath, { token: server.token, body: { text: 'x'.repeat(10_000) } }),
      status: 413,
      code: 'body-too-large',
    },
    {
      name: 'malformed JSON',
      send: () =>
        callApi(server.url, 'POST', '/api/runs', { token: server.token, body: '{"pipeline": "asking",' }),
      status: 400,
      code: 'body-not-json',
    },
    {
      name: 'a body that is not JSON',
      send: () =>
        callApi(server.url, 'POST', requestPath, {
          token: server.token,
          body: 'text=exit',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      status: 415,
      code: 'content-type-not-json',
    },
    {
      name: 'a run id no store can hold, on the event stream',
      send: () => callApi(server.url, 'GET', '/api/runs/..%2F..%2Fetc/events', { token: server.token }),
      status: 400,
      code: 'run-id-invalid',
    },
    {
      name: 'a run id no store can hold, on the files endpoint',
      send: () => callApi(server.url, 'GET', '/api/runs/a%20b/files/chart.png', { token: server.token }),
      status: 400,
      code: 'run-id-invalid',
    },
    {
      name: 'a malformed percent-escape in the path',
      send: () => callApi(server.url, 'POST', '/api/runs/%E0%A4%A/cancel', { token: server.token, body: {} }),
      status: 400,
      code: 'path-invalid',
    },
  ];

  for (const { name, send, status, code } of cases) {
    it(`${name}: ${status} ${code}`, async () => {
      const before = await storeContents();
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.body.error.code).toBe(code);
      expect(answer.body.error.message.length).toBeGreaterThan(20);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(await storeContents()).toBe(before);
      const detail = await callApi(server.url, 'GET', '/api/runs/waiting', { token: server.token });
      expect(detail.body.status).toBe('waiting');
    });
  }

  it("serves no file but the PNGs a run's own log lists, and no page file outside page/", async () => {
    for (const path of [
      '/api/runs/waiting/files/..%2F..%2F..%2Fetc%2Fpasswd',
      '/api/runs/waiting/files/passwd',
      '/api/runs/waiting/files/log.jsonl',
    ]) {
      const answer = await callApi(server.url, 'GET', path, { token: server.token });
      expect(answer.status, path).toBe(404);
      expect(answer.body.error.code, path).toBe('file-not-found');
    }
    expect((await callApi(server.url, 'GET', '/api/runs/waiting/files/passwd')).status).toBe(401);
    for (const path of ['/assets/../src/cli.ts', '/assets/%2e%2e%2fpackage.json', '/assets/run-view.d.ts']) {
      const answer = await callApi(server.url, 'GET', path);
      expect(answer.status, path).toBe(404);
      expect(JSON.stringify(answer.body), path).not.toContain('hopgen');
    }
    const page = await callApi(server.url, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('takes the scheme in any case, never the token in another case', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer ']) {
      const answer = await callApi(server.url, 'GET', '/api/runs', {
        headers: { authorization: `${scheme} ${server.token}` },
      });
      expect(answer.status, scheme).toBe(200);
    }
    const swapped = server.token.replace(/[a-z]/, (letter) => letter.toUpperCase());
    expect(swapped).not.toBe(server.token);
    const wrongCase = await callApi(server.url, 'GET', '/api/runs', { token: swapped });
    expect(wrongCase.status).toBe(401);
  });

  it('streams need the token too', async () => {
    const answer = await callApi(server.url, 'GET', '/api/runs/waiting/events');
    expect(answer.status).toBe(401);
  });

  it('a configured origin gets CORS headers; others get none', async () => {
    const preflight = await callApi(server.url, 'OPTIONS', '/api/runs', {
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const listed = await callApi(server.url, 'GET', '/api/runs', {
      token: server.token,
      headers: { origin: 'http://localhost:3000' },
    });
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const sameOrigin = await callApi(server.url, 'GET', '/api/runs', {
      token: server.token,
      headers: { origin: server.url },
    });
    expect(sameOrigin.status).toBe(200);
    expect(sameOrigin.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('listens on 127.0.0.1 and makes up a long token when none is given', () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });
});
