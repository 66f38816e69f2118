import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore } from '@hopgen/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { type RunningServer, serve } from '../src/index.js';
import { callApi, readEvents } from './support/api-client.js';
import { askingTeam, toolCallsRun } from './support/test-pipelines.js';

let directory: string;
let model: OpenAITestServer;
let server: RunningServer;
let store: FileRunStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-'));
  store = new FileRunStore({ directory });
  model = await startOpenAITestServer((request) => {
    const toolAnswered = request.body.messages.some((message: { role: string }) => message.role === 'tool');
    if (request.body.tools && !toolAnswered) {
      return { toolCalls: [{ id: 'call_1', name: 'add', arguments: '{"a":2,"b":3}' }] };
    }
    return { content: ['The answer ', 'is ', 'ready.'] };
  });
  server = await serve({
    pipelines: [
      askingTeam(model.baseURL, { name: 'asking' }),
      askingTeam(model.baseURL, { name: 'tools', withTool: true }),
    ],
    store,
  });
});

afterEach(async () => {
  await server.close();
  await model.close();
  await rm(directory, { recursive: true, force: true });
});

const post = (path: string, body: object = {}) =>
  callApi(server.url, 'POST', path, { token: server.token, body });
const get = (path: string) => callApi(server.url, 'GET', path, { token: server.token });

describe('the HTTP API', () => {
  it('starts a run, streams it token by token, takes an answer and resumes the stream without gaps', async () => {
    const started = await post('/api/runs', {
      pipeline: 'asking',
      input: { task: 'Say hi.' },
      runId: 'first',
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ runId: 'first', pipeline: 'asking', input: { task: 'Say hi.' } });

    const untilRequest = await readEvents(server.url, server.token, 'first', {
      until: (event) => event.data.type === 'human-input-requested',
    });
    const deltas = untilRequest
      .filter((event) => event.data.type === 'text-delta')
      .map((event) => event.data.data.delta);
    expect(deltas.join('')).toBe('The answer is ready.');
    expect(untilRequest.map((event) => Number(event.id))).toEqual(untilRequest.map((_, index) => index + 1));

    const waiting = await get('/api/runs/first');
    expect(waiting.body.status).toBe('waiting');
    const [request] = waiting.body.requests;
    expect(request.kind).toBe('human-input');
    const listed = await get('/api/runs');
    expect(listed.body.runs).toEqual([
      expect.objectContaining({ runId: 'first', status: 'waiting', pendingRequests: 1 }),
    ]);

    const answered = await post(`/api/runs/first/requests/${encodeURIComponent(request.requestId)}/input`, {
      text: 'exit',
    });
    expect(answered.status).toBe(200);
    const again = await post(`/api/runs/first/requests/${encodeURIComponent(request.requestId)}/input`, {
      text: 'exit',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('request-not-open');

    // A client that saw everything up to the request reconnects with Last-Event-ID and gets the rest once.
    const last = Number(untilRequest.at(-1)!.id);
    const rest = await readEvents(server.url, server.token, 'first', { lastEventId: last });
    expect(rest.at(-1)!.event).toBe('end');
    const ids = rest.filter((event) => event.event !== 'end').map((event) => Number(event.id));
    expect(ids[0]).toBe(last + 1);
    expect(ids).toEqual(ids.map((_, index) => last + 1 + index));
    expect(rest.map((event) => event.data.type)).toContain('run-finished');

    const stored = await store.loadRun('first');
    expect(stored!.entries.map((entry) => entry.sequence)).toEqual(
      [...untilRequest, ...rest.slice(0, -1)].map((event) => Number(event.id)),
    );
    const finished = await get('/api/runs/first');
    expect(finished.body).toMatchObject({
      status: 'finished',
      results: [{ terminationReason: 'human-exit' }],
    });
  });

  it('a client that drops and reconnects every few events while the run streams gets each event once', async () => {
    // A model that streams 200 words 3 ms apart, so the client reconnects while events are being written.
    const words = Array.from({ length: 200 }, (_, index) => `w${index} `);
    const slowModel = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      let index = 0;
      const timer = setInterval(() => {
        if (index < words.length) {
          response.write(
            chunk(index === 0 ? { role: 'assistant', content: words[0] } : { content: words[index] }, null),
          );
          index++;
          return;
        }
        clearInterval(timer);
        response.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
      }, 3);
      response.on('close', () => clearInterval(timer));
    });
    slowModel.listen(0, '127.0.0.1');
    await once(slowModel, 'listening');
    const modelUrl = `http://127.0.0.1:${(slowModel.address() as AddressInfo).port}/v1`;
    await server.close();
    server = await serve({ pipelines: [askingTeam(modelUrl, { name: 'chatty' })], store });
    try {
      await post('/api/runs', { pipeline: 'chatty', input: { task: 'Talk.' }, runId: 'chatty' });
      // Like a page that reloads: read a few events, disconnect, reconnect with the last id seen.
      const seen: number[] = [];
      let deltas = '';
      let live = 0;
      for (;;) {
        const stored = await store.loadRun('chatty');
        if (!stored?.entries.some((entry) => entry.type === 'human-input-requested')) live++;
        let taken = 0;
        const received = await readEvents(server.url, server.token, 'chatty', {
          lastEventId: seen.at(-1) ?? 0,
          until: (event) => ++taken === 7 || event.data.type === 'human-input-requested',
        });
        for (const event of received) {
          seen.push(Number(event.id));
          if (event.data.type === 'text-delta') deltas += event.data.data.delta;
        }
        if (received.at(-1)?.data.type === 'human-input-requested') break;
      }
      // Most reconnects happened while the model was still streaming.
      expect(live).toBeGreaterThan(10);
      expect(seen).toEqual(seen.map((_, index) => index + 1));
      expect(deltas).toBe(words.join(''));
      const stored = (await store.loadRun('chatty'))?.entries.map((entry) => entry.sequence);
      expect(seen).toEqual(stored?.slice(0, seen.length));
    } finally {
      slowModel.close();
    }
  });

  it('holds a tool call for approval; a rejection reaches the model and the tool never runs', async () => {
    toolCallsRun.length = 0;
    await post('/api/runs', {
      pipeline: 'tools',
      input: { task: 'Add 2 and 3.' },
      runId: 'tool',
      approval: { toolCalls: true },
    });
    // The user asks its person before acting on the reply; an empty answer lets it run the tool call.
    await readEvents(server.url, server.token, 'tool', {
      until: (event) => event.data.type === 'human-input-requested',
    });
    const [question] = (await get('/api/runs/tool')).body.requests;
    await post(`/api/runs/tool/requests/${encodeURIComponent(question.requestId)}/input`, { text: '' });
    await readEvents(server.url, server.token, 'tool', {
      until: (event) => event.data.type === 'approval-requested',
    });
    const [approval] = (await get('/api/runs/tool')).body.requests;
    expect(approval).toMatchObject({ kind: 'approval' });
    const rejected = await post(`/api/runs/tool/requests/${encodeURIComponent(approval.requestId)}/reject`, {
      reason: 'Not today.',
    });
    expect(rejected.status).toBe(200);
    const afterRejection = await readEvents(server.url, server.token, 'tool', {
      until: (event) => event.data.type === 'human-input-requested' && event.data.key !== question.requestId,
    });
    expect(afterRejection.map((event) => event.data.type)).toContain('approval-decided');
    expect(toolCallsRun).toEqual([]);
    const toolMessage = model.requests
      .at(-1)!
      .body.messages.find((message: { role: string }) => message.role === 'tool');
    expect(toolMessage.content).toBe('Not today.');
  });

  it('cancels a waiting run: it ends stopped and its stream ends', async () => {
    await post('/api/runs', { pipeline: 'asking', input: { task: 'Wait.' }, runId: 'cancelled' });
    await readEvents(server.url, server.token, 'cancelled', {
      until: (event) => event.data.type === 'human-input-requested',
    });
    const waiting = await get('/api/runs/cancelled');
    const requestId = encodeURIComponent(waiting.body.requests[0].requestId);
    const cancelled = await post('/api/runs/cancelled/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('stopped');
    // Its question is no longer open: an answer would be stored and never read.
    expect(cancelled.body.requests).toEqual([]);
    expect(cancelled.body.pendingRequests).toBe(0);
    const before = await store.loadRun('cancelled');
    const late = await post(`/api/runs/cancelled/requests/${requestId}/input`, { text: 'too late' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('run-ended');
    expect(late.body.error.message).toContain('is stopped');
    expect(await store.loadRun('cancelled')).toEqual(before);
    const events = await readEvents(server.url, server.token, 'cancelled');
    expect(events.at(-2)!.data.type).toBe('run-stopped');
    // A second cancel is the same as the first: the run stays stopped, and nothing more is written.
    const again = await post('/api/runs/cancelled/cancel');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'stopped', cancelRequested: false });
    expect(await store.loadRun('cancelled')).toEqual(before);
  });

  it('lists runs another process writes, following each run as it asks, is answered, stops, resumes and ends', async () => {
    // Another process's view of the same folder: the server sees its appends only through the files.
    const other = new FileRunStore({ directory });
    const append = (type: string, key: string) =>
      other.append('elsewhere', [{ key, type, time: Date.now(), data: {} }]);
    const listed = async () =>
      (await get('/api/runs')).body.runs.find((run: { runId: string }) => run.runId === 'elsewhere');
    await other.createRun({ runId: 'elsewhere', createdAt: Date.now(), definition: {} });
    await append('message-sent', 'c0.m0');
    expect(await listed()).toMatchObject({ status: 'running', pendingRequests: 0, lastSequence: 1 });
    await append('human-input-requested', 'c0.input1');
    expect(await listed()).toMatchObject({ status: 'waiting', pendingRequests: 1, lastSequence: 2 });
    await other.addAnswer('elsewhere', {
      requestId: 'c0.input1',
      answer: { text: 'go on' },
      answeredAt: Date.now(),
    });
    expect(await listed()).toMatchObject({ status: 'running', pendingRequests: 0 });
    await append('approval-requested', 'c0.approve2');
    await append('run-stopped', 'run.stop');
    expect(await listed()).toMatchObject({ status: 'stopped', pendingRequests: 0, lastSequence: 4 });
    await append('approval-decided', 'c0.approve2.end');
    expect(await listed()).toMatchObject({ status: 'running', pendingRequests: 0, lastSequence: 5 });
    await append('run-finished', 'run.end');
    expect(await listed()).toMatchObject({ status: 'finished', lastSequence: 6 });
  });

  it('refuses bad input with a 4xx naming the problem', async () => {
    const unknown = await post('/api/runs', { pipeline: 'nope', input: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('Registered: asking, tools');
    const invalid = await post('/api/runs', { pipeline: 'asking', input: { task: '' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.message).toContain('task');
    const extra = await post('/api/runs', {
      pipeline: 'asking',
      input: { task: 'x' },
      run_id: 'python-style',
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('run_id');
    const badId = await get('/api/runs/..%2Fetc');
    expect(badId.status).toBe(400);
    const missing = await get('/api/runs/ghost');
    expect(missing.status).toBe(404);
    expect((await get('/api/runs/ghost/events')).status).toBe(404);
    expect(await store.listRuns()).toEqual([]);
  });
});
