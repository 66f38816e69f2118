import { InMemoryRunStore } from '@hopgen/agents';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { type RunningServer, serve } from '../src/index.js';
import { callApi, readEvents } from './support/api-client.js';
import { askingTeam } from './support/test-pipelines.js';

let model: OpenAITestServer;
let server: RunningServer;
let document: any;

beforeAll(async () => {
  model = await startOpenAITestServer(() => ({ content: 'Done.' }));
  server = await serve({
    pipelines: [askingTeam(model.baseURL, { name: 'asking' })],
    store: new InMemoryRunStore(),
  });
  document = (await callApi(server.url, 'GET', '/openapi.json')).body;
});

afterAll(async () => {
  await server.close();
  await model.close();
});

/** Checks a value against the schema the document gives for an operation's answer or body. */
function validator(path: string, method: string, part: 'response' | 'request', status = '200') {
  const operation = document.paths[path][method];
  const schema =
    part === 'request'
      ? operation.requestBody.content['application/json'].schema
      : operation.responses[status].content['application/json'].schema;
  return new Ajv2020({ strict: false }).compile(schema);
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with every operation, the bearer token and the event stream', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.token).toMatchObject({ type: 'http', scheme: 'bearer' });
    const operations = Object.values(document.paths).flatMap((item: any) =>
      Object.values(item).map((operation: any) => operation.operationId),
    );
    expect(operations.sort()).toEqual(
      [
        'approve',
        'cancelRun',
        'getRun',
        'getRunImage',
        'listPipelines',
        'listRuns',
        'provideInput',
        'reject',
        'startRun',
        'streamRunEvents',
        'streamRunUiMessages',
      ].sort(),
    );
    expect(Object.keys(document.paths['/api/runs/{runId}/events'].get.responses['200'].content)).toEqual([
      'text/event-stream',
    ]);
  });

  it('describes the bodies the server accepts and refuses', () => {
    const startRun = validator('/api/runs', 'post', 'request');
    expect(startRun({ pipeline: 'asking', input: { task: 'x' } })).toBe(true);
    expect(startRun({ pipeline: 'asking', run_id: 'x' })).toBe(false);
    expect(startRun({ input: {} })).toBe(false);
    const reject = validator('/api/runs/{runId}/requests/{requestId}/reject', 'post', 'request');
    expect(reject({ reason: 'no' })).toBe(true);
    expect(reject({})).toBe(false);
  });

  it('matches what the server really answers', async () => {
    const started = await callApi(server.url, 'POST', '/api/runs', {
      token: server.token,
      body: { pipeline: 'asking', input: { task: 'Hi.' }, runId: 'described' },
    });
    expect(validator('/api/runs', 'post', 'response', '201')(started.body)).toBe(true);
    await readEvents(server.url, server.token, 'described', {
      until: (event) => event.data.type === 'human-input-requested',
    });
    const detail = await callApi(server.url, 'GET', '/api/runs/described', { token: server.token });
    expect(detail.body.requests).toHaveLength(1);
    expect(validator('/api/runs/{runId}', 'get', 'response')(detail.body)).toBe(true);
    const list = await callApi(server.url, 'GET', '/api/runs', { token: server.token });
    expect(validator('/api/runs', 'get', 'response')(list.body)).toBe(true);
    const pipelines = await callApi(server.url, 'GET', '/api/pipelines', { token: server.token });
    expect(validator('/api/pipelines', 'get', 'response')(pipelines.body)).toBe(true);
    expect(pipelines.body.pipelines[0].input.properties.task).toMatchObject({ type: 'string' });
    const refused = await callApi(server.url, 'GET', '/api/runs/nothing', { token: server.token });
    expect(validator('/api/runs/{runId}', 'get', 'response', '4XX')(refused.body)).toBe(true);
    // The validators are not blind: a detail without its status fails.
    const { status: _status, ...broken } = detail.body;
    expect(validator('/api/runs/{runId}', 'get', 'response')(broken)).toBe(false);
  });
});
