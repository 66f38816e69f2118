import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore, InMemoryRunStore, type RunStore } from '@hopgen/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestHandler, type RequestHandler, serve } from '../src/index.js';
import { readEvents } from './support/api-client.js';

/** Events of the stored run, 50 KB each: 20 MB in all, far more than one socket buffer. */
const EVENT_COUNT = 400;
const EVENT_BYTES = 50_000;

let store: InMemoryRunStore;
let handler: RequestHandler;
let server: Server;
let port: number;
/** Every response the server has answered with, to look at what it buffers. */
const responses: ServerResponse[] = [];

beforeAll(async () => {
  store = new InMemoryRunStore();
  await store.createRun({ schemaVersion: 2, runId: 'long', createdAt: Date.now(), definition: {} });
  await store.append(
    'long',
    Array.from({ length: EVENT_COUNT }, (_, index) => ({
      key: `delta-${index}`,
      type: 'text-delta',
      time: Date.now(),
      data: { messageId: 'message-1', agent: 'analyst', delta: 'x'.repeat(EVENT_BYTES) },
    })),
  );
  // A run waiting for a person: its streams stay open with nothing to send.
  await store.createRun({ schemaVersion: 2, runId: 'quiet', createdAt: Date.now(), definition: {} });
  await store.append('quiet', [
    { key: 'request-1', type: 'human-input-requested', time: Date.now(), data: { requestId: 'request-1' } },
  ]);
  handler = createRequestHandler({ pipelines: [], store });
  server = createServer((request, response) => {
    responses.push(response);
    void handler.handle(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  handler.close();
  server.closeAllConnections();
  server.close();
});

/** Opens the run's event stream on a raw socket, which reads nothing until told to. */
function openStream(path: string) {
  const socket = connect(port, '127.0.0.1');
  // The server resets the connections still open when the file's tests end.
  socket.on('error', () => undefined);
  socket.pause();
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${handler.token}\r\n\r\n`,
  );
  return socket;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('the event stream', () => {
  for (const path of ['/api/runs/long/events', '/api/runs/long/ui-message-stream']) {
    it(`holds one buffer, not the run's log, for a client that does not read (${path})`, async () => {
      const socket = openStream(path);
      const before = responses.length;
      await waitFor(() => responses.length > before);
      const response = responses.at(-1)!;
      // Either the writer waits for the client (it listens for drain), or it has queued on regardless.
      await waitFor(
        () => response.listenerCount('drain') > 0 || response.writableLength > 4 * EVENT_BYTES * 10,
      );
      expect(response.writableLength).toBeLessThan(4 * EVENT_BYTES);
      // The client reads on and still gets every event once, in order.
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.resume();
      const deltas = () => text.split('"type":"text-delta"').length - 1;
      await waitFor(() => deltas() >= EVENT_COUNT);
      if (path.endsWith('/events')) {
        const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
        expect(ids).toEqual(Array.from({ length: EVENT_COUNT }, (_, index) => index + 1));
      }
      expect(deltas()).toBe(EVENT_COUNT);
      socket.destroy();
      await waitFor(() => response.closed);
    });
  }

  it('leaves no socket, timer or listener behind when 200 clients come and go', async () => {
    const resources = () => {
      const counts = new Map<string, number>();
      for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
      return counts;
    };
    const before = resources();
    const sockets = Array.from({ length: 200 }, () => {
      const socket = openStream('/api/runs/quiet/events');
      socket.resume();
      return socket;
    });
    const first = responses.length;
    await waitFor(() => responses.length >= first + 200);
    const opened = responses.slice(first);
    // Each stream is open and has written its first event.
    await waitFor(() => opened.every((response) => response.headersSent));
    expect(resources().get('Timeout') ?? 0).toBeGreaterThanOrEqual(200);
    for (const socket of sockets) socket.destroy();
    await waitFor(() => opened.every((response) => response.closed));
    await waitFor(() => (resources().get('TCPSocketWrap') ?? 0) <= (before.get('TCPSocketWrap') ?? 0));
    // Keep-alive timers are cleared as each stream ends; a store poll's last 50 ms timer runs out on
    // its own. A timer that stayed would keep this waiting until the test times out.
    await waitFor(() => (resources().get('Timeout') ?? 0) <= (before.get('Timeout') ?? 0));
    for (const response of opened) expect(response.listenerCount('drain')).toBe(0);
  });
});

describe('the events of a run whose answers cannot be read', () => {
  it('are streamed, not refused as a run that does not exist', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-corrupt-'));
    const files = new FileRunStore({ directory });
    await files.createRun({ schemaVersion: 2, runId: 'odd', createdAt: Date.now(), definition: {} });
    await files.append('odd', [
      { key: 'run:finished', type: 'run-finished', time: Date.now(), data: { results: [] } },
    ]);
    await mkdir(join(directory, 'odd', 'answers'), { recursive: true });
    await writeFile(join(directory, 'odd', 'answers', 'request-1.json'), '{not json');
    await expect(files.readAnswers('odd')).rejects.toThrow();
    const running = await serve({ pipelines: [], store: files, resumeRuns: false });
    try {
      const events = await readEvents(running.url, running.token, 'odd', {
        until: (event) => event.data.type === 'run-finished',
      });
      expect(events.map((event) => event.data.type)).toEqual(['run-finished']);
    } finally {
      await running.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('a reader that reconnects near the end of a long run', () => {
  it('gets the events after its last one without the server reading the whole log', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-tail-'));
    const files = new FileRunStore({ directory });
    await files.createRun({ schemaVersion: 2, runId: 'long', createdAt: Date.now(), definition: {} });
    for (let batch = 0; batch < 20; batch++) {
      await files.append(
        'long',
        Array.from({ length: 100 }, (_, index) => ({
          key: `message-${batch}-${index}`,
          type: 'message-sent',
          time: Date.now(),
          data: { agent: 'analyst', content: 'x'.repeat(200) },
        })),
      );
    }
    // The server's store: a real store in another process's view, every call it gets counted.
    const calls: { method: string; args: unknown[] }[] = [];
    const counted = new Proxy(new FileRunStore({ directory }), {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push({ method: String(property), args });
          return value.apply(target, args);
        };
      },
    }) as RunStore;
    const running = await serve({ pipelines: [], store: counted, resumeRuns: false });
    try {
      const events = await readEvents(running.url, running.token, 'long', {
        lastEventId: 1995,
        until: (event) => event.data.sequence === 2000,
      });
      expect(events.map((event) => event.data.sequence)).toEqual([1996, 1997, 1998, 1999, 2000]);
      // No call for the whole run (loadRun, or readEntries from the start): only what comes after 1995.
      expect(calls.filter((call) => call.method === 'loadRun')).toEqual([]);
      const reads = calls.filter((call) => call.method === 'readEntries');
      expect(reads.length).toBeGreaterThan(0);
      for (const read of reads) expect(read.args[1]).toBeGreaterThanOrEqual(1995);
      const missing = await fetch(new URL('/api/runs/nothing/events', running.url), {
        headers: { authorization: `Bearer ${running.token}` },
      });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('run-not-found');
    } finally {
      await running.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
