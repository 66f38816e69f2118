import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore } from '@hopgen/agents';
import { expect, it } from 'vitest';
import { startOpenAITestServer } from '../../agents/test/support/openai-test-server.js';
import { serve } from '../src/index.js';
import { callApi } from './support/api-client.js';
import { askingTeam } from './support/test-pipelines.js';

it('probe', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'probe-'));
  const model = await startOpenAITestServer(() => ({ content: 'Done.' }));
  const server = await serve({
    pipelines: [askingTeam(model.baseURL, { name: 'asking' })],
    store: new FileRunStore({ directory }),
  });
  const body = { pipeline: 'asking', input: { task: 'Hi.' }, runId: 'same' };
  const answers = await Promise.all(
    [1, 2, 3].map(() => callApi(server.url, 'POST', '/api/runs', { token: server.token, body })),
  );
  console.log(answers.map((a) => `${a.status} ${JSON.stringify(a.body.error ?? a.body.status)}`));
  const port = new URL(server.url).port;
  for (const host of [
    `[::1]:${port}`,
    `localhost:${port}`,
    `127.0.0.1`,
    `127.0.0.2:${port}`,
    `0.0.0.0:${port}`,
    `[::ffff:127.0.0.1]:${port}`,
  ]) {
    const a = await callApi(server.url, 'GET', '/api/runs', { token: server.token, headers: { host } });
    console.log(host, a.status);
  }
  const pre = await callApi(server.url, 'OPTIONS', '/api/runs', {
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
  });
  console.log('preflight evil', pre.status, pre.headers['access-control-allow-origin']);
  const pre2 = await callApi(server.url, 'OPTIONS', '/api/runs', {});
  console.log('options no origin', pre2.status);
  const low = await callApi(server.url, 'GET', '/api/runs', {
    headers: { authorization: `bearer ${server.token}` },
  });
  console.log('lowercase bearer', low.status);
  const cancel2 = await callApi(server.url, 'POST', '/api/runs/same/cancel', {
    token: server.token,
    body: {},
  });
  const cancel3 = await callApi(server.url, 'POST', '/api/runs/same/cancel', {
    token: server.token,
    body: {},
  });
  console.log('cancel', cancel2.status, cancel2.body.status, cancel3.status, cancel3.body.error?.message);
  const detail = await callApi(server.url, 'GET', '/api/runs/same', { token: server.token });
  console.log(JSON.stringify(detail.body).slice(0, 300));
  const start2 = await callApi(server.url, 'POST', '/api/runs', {
    token: server.token,
    body: { pipeline: 'asking', input: { task: 5 } },
  });
  console.log(start2.status, JSON.stringify(start2.body));
  const start3 = await callApi(server.url, 'POST', '/api/runs', {
    token: server.token,
    body: { pipeline: 'asking' },
  });
  console.log(start3.status, JSON.stringify(start3.body));
  await server.close();
  await model.close();
  expect(1).toBe(1);
});
