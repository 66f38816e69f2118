import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';

/** One request the proxy saw, in arrival order. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  body: string;
  /** The fault injected into this request, if any. */
  fault?: FaultKind;
}

/**
 * - `respond-500`: answer 500 without forwarding (the server never sees the request).
 * - `respond-429`: answer 429 (rate limited) without forwarding, as HopX does past an account's quota.
 * - `forward-then-500`: forward, let the server finish, then answer 500 instead of its reply.
 * - `drop-after-forward`: forward, let the server finish, then cut the client's connection.
 */
export type FaultKind = 'respond-500' | 'respond-429' | 'forward-then-500' | 'drop-after-forward';

/** A fault armed on the proxy: applies to the next `times` requests that match. */
export interface FaultRule {
  kind: FaultKind;
  /** Which requests to hit, e.g. `({ method, path }) => method === 'POST' && path.endsWith('/execute')`. */
  match: (request: { method: string; path: string }) => boolean;
  /** @default 1 */
  times?: number;
}

/** A fault-injecting HTTP proxy on 127.0.0.1 in front of a HopX-compatible server. */
export interface FaultProxy {
  /** Use this as the executor's `baseURL`. */
  baseURL: string;
  /** Every request seen so far. */
  requests: RecordedRequest[];
  /** Arms a fault. */
  injectFault(rule: FaultRule): void;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

interface ArmedFault {
  rule: FaultRule;
  remaining: number;
}

/**
 * Starts a proxy that forwards everything to `targetBaseURL` and rewrites the target's origin in
 * control-plane JSON (`public_host`), so the SDK's agent traffic also passes through the proxy.
 */
export async function startFaultProxy(targetBaseURL: string): Promise<FaultProxy> {
  const target = new URL(targetBaseURL);
  const requests: RecordedRequest[] = [];
  const faults: ArmedFault[] = [];
  const sockets = new Set<Socket>();
  let proxyOrigin = '';

  const takeFault = (method: string, path: string): FaultKind | undefined => {
    const armed = faults.find((fault) => fault.remaining > 0 && fault.rule.match({ method, path }));
    if (armed === undefined) return undefined;
    armed.remaining -= 1;
    return armed.rule.kind;
  };

  const respond500 = (response: ServerResponse, status = 500, code = 'INTERNAL_ERROR') => {
    const body = JSON.stringify({
      error: 'injected fault',
      message: 'injected fault',
      code,
    });
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = incoming.method ?? 'GET';
    const path = incoming.url ?? '/';
    const fault = takeFault(method, path);
    requests.push({ method, path, body: body.toString('utf8'), ...(fault ? { fault } : {}) });
    if (fault === 'respond-500') return respond500(response);
    if (fault === 'respond-429') return respond500(response, 429, 'RATE_LIMITED');

    const headers = { ...incoming.headers, host: target.host };
    const upstream = httpRequest(
      { hostname: target.hostname, port: target.port, method, path, headers },
      (upstreamResponse) => {
        const parts: Buffer[] = [];
        upstreamResponse.on('data', (chunk: Buffer) => parts.push(chunk));
        upstreamResponse.on('end', () => {
          if (fault === 'forward-then-500') return respond500(response);
          if (fault === 'drop-after-forward') {
            incoming.socket.destroy();
            return;
          }
          let payload = Buffer.concat(parts);
          const type = String(upstreamResponse.headers['content-type'] ?? '');
          if (type.includes('json') && path.startsWith('/v1/')) {
            const text = payload
              .toString('utf8')
              .replaceAll(target.origin, proxyOrigin)
              .replaceAll(`http://localhost:${target.port}`, proxyOrigin);
            payload = Buffer.from(text, 'utf8');
          }
          const outgoingHeaders = { ...upstreamResponse.headers, 'content-length': String(payload.length) };
          delete outgoingHeaders['transfer-encoding'];
          response.writeHead(upstreamResponse.statusCode ?? 502, outgoingHeaders);
          response.end(payload);
        });
        upstreamResponse.on('error', () => incoming.socket.destroy());
      },
    );
    upstream.on('error', () => incoming.socket.destroy());
    upstream.end(body);
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch(() => incoming.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // WebSocket upgrades (the SDK's streaming endpoints) are piped through untouched.
  server.on('upgrade', (incoming: IncomingMessage, socket: Socket, head: Buffer) => {
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${incoming.method} ${incoming.url} HTTP/1.1`];
      for (let index = 0; index < incoming.rawHeaders.length; index += 2) {
        const name = incoming.rawHeaders[index] ?? '';
        const value = name.toLowerCase() === 'host' ? target.host : (incoming.rawHeaders[index + 1] ?? '');
        lines.push(`${name}: ${value}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxyOrigin = `http://127.0.0.1:${port}`;

  return {
    baseURL: proxyOrigin,
    requests,
    injectFault(rule) {
      faults.push({ rule, remaining: rule.times ?? 1 });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
