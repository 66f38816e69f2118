import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { SandboxDestroyedError } from '../errors.js';
import { createIsolationBackend } from '../isolation/index.js';
import { AGENT_VERSION, handleAgentRoute } from './agent-routes.js';
import { type ControlPlaneContext, handleControlPlane } from './control-plane.js';
import { serveExecuteStream } from './execute-stream.js';
import { FileHelper } from './file-helper.js';
import { credentialsOf, HopxHttpError, newRequestId, sendError, sendJson } from './http-utilities.js';
import { probeHostLanguages } from './language-probe.js';
import { DEFAULT_LIMITS, type LocalSandboxServer, type LocalSandboxServerOptions } from './options.js';
import { decodeSegment } from './path-segments.js';
import { SandboxManager } from './sandbox-manager.js';
import type { SandboxSession } from './sandbox-session.js';
import { buildTemplates } from './templates.js';

function sameSecret(left: string | undefined, right: string): boolean {
  if (left === undefined) return false;
  const a = Buffer.from(left);
  const b = Buffer.from(right);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A request's path without its query string, which may carry tokens. */
function pathOf(request: IncomingMessage): string {
  return (request.url ?? '/').split('?')[0] ?? '/';
}

function unauthorized(message: string): HopxHttpError {
  return new HopxHttpError(401, 'AUTHENTICATION_REQUIRED', message);
}

/**
 * Starts a local server that speaks HopX's control-plane and agent protocols, so the official
 * `@hopx-ai/sdk` works against it with only `baseURL` and the API key changed.
 */
export async function startLocalSandboxServer(options: LocalSandboxServerOptions = {}): Promise<
  LocalSandboxServer & {
    /** Resolves when every template's warm pool is full. */
    poolsReady(): Promise<void>;
  }
> {
  const host = options.host ?? '127.0.0.1';
  const apiKey = options.apiKey ?? `hopgen_${randomBytes(24).toString('base64url')}`;
  const log = options.log ?? (() => {});
  const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  const isolation = options.isolation ?? 'bubblewrap';
  const backend = createIsolationBackend(isolation, {
    ...(options.allowUnlimited !== undefined ? { allowUnlimited: options.allowUnlimited } : {}),
    ...(options.baseDirectory !== undefined ? { baseDirectory: options.baseDirectory } : {}),
  });
  await backend.preflight();
  const languages = await probeHostLanguages(isolation === 'none');
  for (const file of languages.unreachable) {
    log(
      `interpreter ${file} is outside /usr, so sandboxes cannot see it; its language is not offered`,
      'event',
    );
  }
  const templates = buildTemplates(languages);
  if (!backend.startForkServers)
    log(`isolation ${backend.name} has no fork servers: each sandbox starts its own interpreter`, 'event');
  await backend.startForkServers?.(
    [...templates.values()].flatMap((template) => {
      const python = template.languages.get('python');
      return python
        ? [{ name: template.name, python: python.command, preloadModules: template.preloadModules }]
        : [];
    }),
    (message) => log(message, 'event'),
  );
  const fileHelper = new FileHelper({ log });
  const manager = new SandboxManager({ backend, limits, poolSize: options.poolSize ?? 0, log, fileHelper });
  let baseURL = '';
  const context: ControlPlaneContext = {
    manager,
    templates,
    baseURL: () => baseURL,
    limits,
    defaultTimeoutSeconds: options.defaultTimeoutSeconds ?? 0,
    listPageLimit: Math.max(1, options.listPageLimit ?? 100),
  };

  const authorizeControlPlane = (request: IncomingMessage) => {
    const credentials = credentialsOf(request);
    if (sameSecret(credentials.apiKey, apiKey) || sameSecret(credentials.bearer, apiKey)) return;
    throw unauthorized(
      credentials.apiKey || credentials.bearer
        ? 'Invalid API key.'
        : 'Missing API key: send it as X-API-Key or Authorization: Bearer.',
    );
  };
  const authorizeAgent = (request: IncomingMessage, session: SandboxSession) => {
    const credentials = credentialsOf(request);
    if (
      (sameSecret(credentials.bearer, session.token) && session.tokenExpiresAt.getTime() > Date.now()) ||
      sameSecret(credentials.bearer, apiKey) ||
      sameSecret(credentials.apiKey, apiKey)
    ) {
      return;
    }
    throw unauthorized('Invalid or missing sandbox token.');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const segments = url.pathname
      .split('/')
      .filter((segment) => segment !== '')
      .map(decodeSegment);
    if (url.pathname === '/health' || url.pathname === '/') {
      sendJson(response, 200, {
        status: 'ok',
        version: AGENT_VERSION,
        isolation: backend.name,
        sandboxes: manager.list().length,
      });
      return;
    }
    if (segments[0] === 'v1') {
      authorizeControlPlane(request);
      if (await handleControlPlane(context, method, segments, url.searchParams, request, response)) return;
    } else if (segments[0] === 'sandboxes' && segments[1] !== undefined) {
      const session = manager.get(segments[1]);
      authorizeAgent(request, session);
      const route = `/${segments.slice(2).join('/')}`;
      try {
        if (await handleAgentRoute(session, method, route, url.searchParams, request, response)) return;
      } catch (error) {
        session.metrics.errors++;
        // A sandbox destroyed (TTL, DELETE) while the request ran: the SDK's "expired", not a 500.
        if (
          !(error instanceof HopxHttpError) &&
          (session.destroyed || error instanceof SandboxDestroyedError)
        ) {
          throw new HopxHttpError(
            404,
            'SANDBOX_NOT_FOUND',
            `Sandbox not found: ${session.id} was destroyed.`,
            {
              sandbox_id: session.id,
            },
          );
        }
        throw error;
      }
    }
    throw new HopxHttpError(404, 'NOT_FOUND', `No route for ${method} ${url.pathname}.`);
  };

  const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (request, response) => {
    const requestId = newRequestId();
    response.setHeader('x-request-id', requestId);
    handle(request, response)
      .catch((error: unknown) => {
        if (error instanceof HopxHttpError) {
          // Rejected credentials and server-side failures are worth a line; a client's 4xx is its own.
          if (error.status === 401 || error.status >= 500)
            log(
              `${error.status} ${error.code} on ${request.method} ${pathOf(request)}: ${error.message}`,
              'error',
            );
          sendError(response, error, requestId);
          return;
        }
        log(
          `internal error on ${request.method} ${pathOf(request)}: ${error instanceof Error ? error.stack : String(error)}`,
          'error',
        );
        sendError(
          response,
          new HopxHttpError(500, 'INTERNAL_ERROR', `Internal error: ${String(error)}`),
          requestId,
        );
      })
      .catch(() => response.destroy());
  });

  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(request, socket, head);
    } catch (error) {
      log(
        `internal error on upgrade ${pathOf(request)}: ${error instanceof Error ? error.stack : String(error)}`,
        'error',
      );
      socket.destroy();
    }
  });
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const url = new URL(request.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').filter((segment) => segment !== '');
    // The SDK drops public_host's path prefix for WebSockets, so the bearer token picks the sandbox.
    const route = segments[0] === 'sandboxes' ? `/${segments.slice(2).join('/')}` : url.pathname;
    const credentials = credentialsOf(request);
    let session = credentials.bearer ? manager.byToken(credentials.bearer) : undefined;
    if (!session && segments[0] === 'sandboxes' && segments[1]) {
      try {
        const candidate = manager.get(segments[1]);
        authorizeAgent(request, candidate);
        session = candidate;
      } catch {
        session = undefined;
      }
    }
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!session) {
      log(
        `401 AUTHENTICATION_REQUIRED on WebSocket ${pathOf(request)}: invalid or missing sandbox token`,
        'error',
      );
      return reject(401, 'Unauthorized');
    }
    if (route !== '/execute/stream') return reject(404, 'Not Found');
    const target = session;
    sockets.handleUpgrade(request, socket, head, (webSocket) => serveExecuteStream(target, webSocket));
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  baseURL = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  manager.fillPools(templates.values());
  log(`HopX-compatible sandbox server on ${baseURL} (isolation: ${backend.name})`, 'event');

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    void close()
      .catch((error: unknown) => log(`close failed: ${String(error)}`, 'error'))
      .finally(() => {
        // Nobody else handles the signal: behave as if we had not intercepted it.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
  };
  const close = () => {
    closing ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await manager.close();
      await fileHelper.close();
      await backend.close();
      await closed;
    })();
    return closing;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { baseURL, apiKey, close, poolsReady: () => manager.poolsReady() };
}
