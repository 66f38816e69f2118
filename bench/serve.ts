import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore, readRunEvents } from '@hopgen/agents';
import { serve } from '@hopgen/server';
import { askingTeam } from '../packages/server/test/support/test-pipelines.js';
import type { FigureSet } from './figures.js';
import { startBenchModelServer } from './model-server.js';
import type { BenchSettings } from './settings.js';

/** A received event: its sequence, type, when the run wrote it and when it arrived (both epoch ms). */
interface Arrival {
  sequence: number;
  type: string;
  writtenAt: number;
  receivedAt: number;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable with the entries' `Date.now()` times. */
const now = () => performance.timeOrigin + performance.now();

/** One SSE client on node:http (lighter than fetch, so a thousand fit in the bench process). */
function openClient(url: string, token: string, runId: string, after: number) {
  const arrivals: Arrival[] = [];
  let buffer = '';
  let close = () => {};
  const connected = new Promise<void>((resolve, reject) => {
    const outgoing = request(
      `${url}/api/runs/${runId}/events`,
      { headers: { authorization: `Bearer ${token}`, 'last-event-id': String(after) } },
      (response) => {
        if (response.statusCode !== 200) reject(new Error(`SSE answered ${response.statusCode}`));
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          const receivedAt = now();
          buffer += text;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
            buffer = buffer.slice(end + 2);
            if (data === undefined || data === '{}') continue;
            const event = JSON.parse(data) as { sequence: number; type: string; time: number };
            arrivals.push({ sequence: event.sequence, type: event.type, writtenAt: event.time, receivedAt });
          }
        });
        response.on('error', () => undefined);
        resolve();
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
    close = () => outgoing.destroy();
  });
  return { arrivals, connected, close: () => close() };
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`serve bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * `hopgen serve`: how long an event takes from the run writing it to a connected SSE client (one
 * client; baseline in the same run: `readRunEvents` polling the store, what a reader in another
 * process sees), and the same latency with many clients on one run, to show how many one server
 * holds. The run is a two-agent chat whose user asks a person every turn; each answer makes about
 * six events (the answer, the user's message, the model call's start and end, the reply, the next
 * question). The model is a local scripted server; the store is the default FileRunStore.
 */
export async function measureServe(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { latencyTurns, clientCounts, turnsPerCount } = settings.serve;
  const model = await startBenchModelServer(() => ({ content: 'Noted.' }));
  const directory = await mkdtemp(join(tmpdir(), 'hopgen-bench-serve-'));
  // The tests' asking team, without streaming: each answer makes a handful of events.
  const pipeline = askingTeam(model.baseURL, { name: 'bench-turns', stream: false });
  const store = new FileRunStore({ directory });
  const server = await serve({ pipelines: [pipeline], store });
  const post = (path: string, body: object) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (response) => {
      if (!response.ok)
        throw new Error(`serve bench: ${path} answered ${response.status} ${await response.text()}`);
      return response.json() as Promise<{ requests: { requestId: string }[]; lastSequence: number }>;
    });
  const runId = 'bench-serve';
  const controller = new AbortController();
  try {
    await post('/api/runs', { pipeline: 'bench-turns', input: { task: 'bench' }, runId });
    const watcher = openClient(server.url, server.token, runId, 0);
    await watcher.connected;
    const questions = () =>
      watcher.arrivals.filter((arrival) => arrival.type === 'human-input-requested').length;
    /** Answers the open question and waits for the next one. */
    const turn = async () => {
      const asked = questions();
      await until(() => asked > 0, 'the first question');
      const detail = await fetch(`${server.url}/api/runs/${runId}`, {
        headers: { authorization: `Bearer ${server.token}` },
      }).then((response) => response.json() as Promise<{ requests: { requestId: string }[] }>);
      await post(`/api/runs/${runId}/requests/${encodeURIComponent(detail.requests[0]!.requestId)}/input`, {
        text: 'go on',
      });
      await until(() => questions() > asked, 'the next question');
    };
    await until(() => questions() > 0, 'the first question');

    // One client, and a polling reader of the store as the same run's baseline.
    const polled: Arrival[] = [];
    const from = watcher.arrivals.at(-1)!.sequence;
    void (async () => {
      for await (const event of readRunEvents(store, runId, { after: from, signal: controller.signal })) {
        polled.push({ sequence: event.sequence, type: event.type, writtenAt: event.time, receivedAt: now() });
      }
    })().catch(() => undefined);
    for (let index = 0; index < latencyTurns; index++) await turn();
    const latency = (arrivals: Arrival[], after: number) =>
      arrivals
        .filter((arrival) => arrival.sequence > after)
        .map((arrival) => arrival.receivedAt - arrival.writtenAt);
    await until(() => polled.length >= latency(watcher.arrivals, from).length, 'the polling reader');
    figures.add(
      'serve.poll',
      'Event latency: readRunEvents polling the store (baseline)',
      'ms',
      latency(polled, from),
    );
    figures.add(
      'serve.sse',
      'Event latency: run to one connected SSE client',
      'ms',
      latency(watcher.arrivals, from),
      {
        baselineId: 'serve.poll',
      },
    );

    // Many clients on one run: every client must get every event; latency over all of them.
    for (const count of clientCounts) {
      const after = watcher.arrivals.at(-1)!.sequence;
      const clients = Array.from({ length: count }, () => openClient(server.url, server.token, runId, after));
      try {
        await Promise.all(clients.map((client) => client.connected));
        for (let index = 0; index < turnsPerCount; index++) await turn();
        const expected = watcher.arrivals.filter((arrival) => arrival.sequence > after).length;
        await until(() => clients.every((client) => client.arrivals.length >= expected), `${count} clients`);
        const complete = clients.every(
          (client) =>
            client.arrivals.length === expected &&
            client.arrivals.every((arrival, index) => arrival.sequence === after + 1 + index),
        );
        if (!complete)
          throw new Error(`serve bench: with ${count} clients, some missed or repeated an event`);
        figures.add(
          `serve.clients.${count}`,
          `Event latency with ${count} SSE clients on one run (every client got every event once)`,
          'ms',
          clients.flatMap((client) => latency(client.arrivals, after)),
          { baselineId: 'serve.sse' },
        );
      } finally {
        for (const client of clients) client.close();
      }
    }
    watcher.close();
    await post(`/api/runs/${runId}/cancel`, {});
  } finally {
    controller.abort();
    await server.close();
    await model.close();
    await rm(directory, { recursive: true, force: true });
  }
}
