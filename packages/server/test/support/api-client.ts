import { request } from 'node:http';

/** An answer of the API. */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/**
 * Sends one request with node:http (not fetch), so a test can set any `Host` or `Origin` header and
 * send a broken body, as an attacker would.
 */
export function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: string | object; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const url = new URL(path, baseUrl);
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
        });
      },
    );
    // The server may refuse an oversized body before reading it and close the connection.
    outgoing.on('error', reject);
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

/** One Server-Sent Event as the stream carried it. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string;
  data: any;
}

/**
 * Reads a run's SSE stream until `until` returns true for an event (or the stream ends), then
 * disconnects. `lastEventId` is sent as `Last-Event-ID`, as a reconnecting EventSource does.
 */
export async function readEvents(
  baseUrl: string,
  token: string,
  runId: string,
  options: { lastEventId?: number; until?: (event: ReceivedEvent) => boolean } = {},
): Promise<ReceivedEvent[]> {
  const controller = new AbortController();
  const response = await fetch(new URL(`/api/runs/${runId}/events`, baseUrl), {
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.lastEventId === undefined ? {} : { 'last-event-id': String(options.lastEventId) }),
    },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
  const received: ReceivedEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        if (!fields.has('data')) continue;
        const event = {
          id: fields.get('id'),
          event: fields.get('event') ?? 'message',
          data: JSON.parse(fields.get('data')!),
        };
        received.push(event);
        if (event.event === 'end' || options.until?.(event)) return received;
      }
    }
  } finally {
    controller.abort();
  }
  return received;
}
