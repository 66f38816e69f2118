import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunEvent } from '@hopgen/agents';
import { RequestError } from './errors.js';

/** How often an idle stream sends a comment, so proxies and browsers keep it open, in milliseconds. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Where a client resumes: the `Last-Event-ID` header a reconnecting EventSource sends (the last
 * sequence it saw), else `?after=`, else from the start.
 */
export function resumePoint(request: IncomingMessage, url: URL): number {
  const raw = request.headers['last-event-id'] ?? url.searchParams.get('after') ?? '0';
  const after = Number(raw);
  if (!Number.isInteger(after) || after < 0) {
    throw new RequestError(
      400,
      'last-event-id-invalid',
      `Last-Event-ID (or after) must be the sequence number of the last event seen, a whole number >= 0 (got ${JSON.stringify(raw)}).`,
    );
  }
  return after;
}

/** Sends the headers of a Server-Sent Events answer that no proxy may buffer or cache. */
export function startEventStream(response: ServerResponse, headers: Record<string, string>): void {
  response.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
}

/**
 * Waits until the client has taken what the response holds, so a client that reads slowly (or not at
 * all) holds the server to one buffer of events rather than the run's whole log in memory. Returns at
 * once when the buffer is below its high-water mark, or when `signal` aborts (the client went away).
 */
export async function drained(response: ServerResponse, signal: AbortSignal): Promise<void> {
  if (!response.writableNeedDrain || signal.aborted) return;
  try {
    await once(response, 'drain', { signal });
  } catch {
    // Aborted: the caller sees the signal and stops.
  }
}

/**
 * Writes run events as Server-Sent Events: `id` is the event's sequence number, so a client that
 * reconnects with `Last-Event-ID` gets every later event once. Ends with an `end` event when the
 * run ends (finished, failed or stopped), or when the client goes away.
 */
export async function writeEventStream(
  response: ServerResponse,
  events: AsyncIterable<RunEvent>,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<void> {
  startEventStream(response, headers);
  // Tells EventSource how long to wait before reconnecting, in milliseconds.
  response.write('retry: 1000\n\n');
  // A client that has not read what is queued needs no keep-alive on top.
  const keepAlive = setInterval(() => {
    if (!response.writableNeedDrain) response.write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  try {
    for await (const event of events) {
      await drained(response, signal);
      if (signal.aborted) return;
      response.write(`id: ${event.sequence}\ndata: ${JSON.stringify(event)}\n\n`);
    }
    if (!signal.aborted) response.write('event: end\ndata: {}\n\n');
  } finally {
    clearInterval(keepAlive);
    response.end();
  }
}
