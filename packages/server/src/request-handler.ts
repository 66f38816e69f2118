import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FileRunStore } from '@hopgen/agents';
import { matchRoute, parseBody, pathParameter } from './api-routes.js';
import { RequestError, ServeOptionsError } from './errors.js';
import { resumePoint, writeEventStream } from './event-stream.js';
import { openApiDocument } from './openapi.js';
import { pageFile } from './page-files.js';
import { checkHost, checkOrigin, checkToken, type GuardSettings, readJsonBody } from './request-guard.js';
import { readRunImage } from './run-files.js';
import { RunRegistry } from './run-registry.js';
import { checkServeOptions, type ServeOptions } from './serve-options.js';
import { writeUiMessageStream } from './ui-message-stream.js';

/** The package's version, shown in the OpenAPI document. */
const VERSION = '0.1.0';

/** The API and the page as a Node request handler, to mount in an existing `node:http` server. */
export interface RequestHandler {
  /** The token API requests must carry. */
  readonly token: string;
  /** Answers the request when its path is ours (`/`, `/runs/...`, `/assets/...`, `/api/...`, `/openapi.json`); false otherwise. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /**
   * Resumes the runs of registered pipelines that a stopped or killed server left running or
   * waiting for a person (`serve()` does it at start). Returns the run ids tried.
   */
  resumeInterrupted(): Promise<string[]>;
  /** Ends the open event streams. Runs go on in this process; stop them with the process. */
  close(): void;
}

/** Builds the handler that {@link serve} mounts; use it to add the API to a server of your own. */
export function createRequestHandler(options: ServeOptions): RequestHandler {
  checkServeOptions(options);
  const token = options.token ?? process.env['HOPGEN_SERVE_TOKEN'] ?? randomBytes(24).toString('base64url');
  if (token.length < 16) {
    throw new ServeOptionsError(
      `The token is ${token.length} characters long; use at least 16 (or leave it out for a random one).`,
    );
  }
  const settings: GuardSettings = {
    token,
    allowedHosts: new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase())),
    allowedOrigins: new Set(options.allowedOrigins ?? []),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
  };
  const registry = new RunRegistry({
    store: options.store ?? new FileRunStore(),
    pipelines: options.pipelines,
    ...(options.cancelPollMs === undefined ? {} : { cancelPollMs: options.cancelPollMs }),
  });
  const streams = new Set<AbortController>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const ours =
      url.pathname === '/openapi.json' || url.pathname.startsWith('/api/') || pageFile(url.pathname);
    if (!ours) return false;
    let cors: Record<string, string> = {};
    try {
      checkHost(request, settings);
      const origin = checkOrigin(request, settings);
      if (origin) cors = { 'access-control-allow-origin': origin, vary: 'Origin' };
      if (request.method === 'OPTIONS' && origin) {
        response.writeHead(204, {
          ...cors,
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'authorization, content-type, last-event-id',
          'access-control-max-age': '600',
        });
        response.end();
        return true;
      }
      if (url.pathname === '/openapi.json') {
        sendJson(response, 200, openApiDocument(VERSION), cors);
        return true;
      }
      const file = pageFile(url.pathname);
      if (file) {
        // The page holds no data: it asks for the token and calls the API with it. Inline styles carry
        // each agent's colour (style="--agent:..."); scripts come only from this server.
        const body = await file.read();
        response.writeHead(200, {
          'content-type': file.contentType,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
          'content-security-policy':
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        });
        response.end(body);
        return true;
      }
      checkToken(request, settings);
      const streamPath = /^\/api\/runs\/([^/]+)\/(events|ui-message-stream)$/.exec(url.pathname);
      if (streamPath && request.method === 'GET') {
        const runId = pathParameter('runId', streamPath[1]!);
        const after = resumePoint(request, url);
        const controller = new AbortController();
        streams.add(controller);
        response.on('close', () => controller.abort());
        try {
          const events = await registry.events(runId, after, controller.signal);
          if (streamPath[2] === 'events') await writeEventStream(response, events, controller.signal, cors);
          else await writeUiMessageStream(response, runId, events, controller.signal, cors);
        } finally {
          streams.delete(controller);
        }
        return true;
      }
      const filePath = /^\/api\/runs\/([^/]+)\/files\/([^/]+)$/.exec(url.pathname);
      if (filePath && request.method === 'GET') {
        const image = await readRunImage(
          registry.store,
          pathParameter('runId', filePath[1]!),
          pathParameter('name', filePath[2]!),
        );
        response.writeHead(200, {
          ...cors,
          'content-type': 'image/png',
          'content-length': image.length,
          'cache-control': 'private, max-age=3600',
          'x-content-type-options': 'nosniff',
        });
        response.end(image);
        return true;
      }
      const matched = matchRoute(request.method ?? 'GET', url.pathname);
      if (!matched) {
        throw new RequestError(404, 'not-found', `No ${request.method} ${url.pathname}. See /openapi.json.`);
      }
      const raw = request.method === 'POST' ? await readJsonBody(request, settings) : undefined;
      const body = parseBody(matched.route, raw);
      const result = await matched.route.handle({
        registry,
        request,
        url,
        parameters: matched.parameters,
        body,
      });
      sendJson(response, matched.route.status ?? 200, result, cors);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return true;
      }
      if (error instanceof RequestError) {
        // A refused body may still be arriving: close the connection rather than read it.
        const close: Record<string, string> = error.status === 413 ? { connection: 'close' } : {};
        sendJson(
          response,
          error.status,
          { error: { code: error.code, message: error.message } },
          { ...cors, ...close },
        );
      } else {
        sendJson(
          response,
          500,
          { error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } },
          cors,
        );
      }
    }
    return true;
  };

  return {
    token,
    handle,
    resumeInterrupted: () => registry.resumeInterrupted(),
    close: () => {
      for (const stream of streams) stream.abort();
    },
  };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}
