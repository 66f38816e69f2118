import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler } from './request-handler.js';
import type { ServeOptions } from './serve-options.js';

/** A running server. */
export interface RunningServer {
  /** Its address, e.g. `http://127.0.0.1:4311`. */
  url: string;
  /** The token API requests must carry (`Authorization: Bearer <token>`). */
  token: string;
  /** Stops listening and ends the event streams. Runs started here go on until the process ends. */
  close(): Promise<void>;
}

/**
 * Starts `hopgen serve`: the HTTP API and the page for the runs of one store, on 127.0.0.1 with a
 * token by default.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const handler = createRequestHandler(options);
  const server = createServer((request, response) => {
    void handler.handle(request, response).then((handled) => {
      if (handled) return;
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      response.end(
        JSON.stringify({ error: { code: 'not-found', message: `No ${request.url}. See /openapi.json.` } }),
      );
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  if (options.resumeRuns !== false) await handler.resumeInterrupted();
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: handler.token,
    close: async () => {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
