import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestError } from './errors.js';

/** What the guard checks every request against. */
export interface GuardSettings {
  /** The bearer token API requests must carry. */
  token: string;
  /** `Host` header values accepted besides loopback names (lower case, with port), against DNS rebinding. */
  allowedHosts: ReadonlySet<string>;
  /** Origins allowed to call the API from another page; empty: none. */
  allowedOrigins: ReadonlySet<string>;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
}

/** Loopback names, with any port: what a browser on this machine sends. */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/**
 * Refuses a request whose `Host` is not one of ours: a page on evil.example whose name was re-pointed
 * at 127.0.0.1 (DNS rebinding) sends `Host: evil.example`, and must not reach the API or the page.
 */
export function checkHost(request: IncomingMessage, settings: GuardSettings): void {
  const host = request.headers.host?.toLowerCase();
  if (host !== undefined && (LOOPBACK_HOST.test(host) || settings.allowedHosts.has(host))) return;
  throw new RequestError(
    421,
    'host-not-allowed',
    `Host ${host ?? '(none)'} is not served here. Use 127.0.0.1 or localhost, or add the name with its port to serve({ allowedHosts }).`,
  );
}

/**
 * Refuses a request sent by a page of another origin, unless that origin is configured. Browsers
 * send `Origin` on cross-origin requests and on same-origin POSTs; same-origin is always allowed.
 * Returns the origin to echo in CORS headers, when one applies.
 */
export function checkOrigin(request: IncomingMessage, settings: GuardSettings): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  const sameOrigin = `http://${request.headers.host?.toLowerCase()}`;
  if (origin.toLowerCase() === sameOrigin) return undefined;
  if (settings.allowedOrigins.has(origin)) return origin;
  throw new RequestError(
    403,
    'origin-not-allowed',
    `Requests from ${origin} are not allowed. Serve the page from this server, or add the origin to serve({ allowedOrigins }).`,
  );
}

/** Checks `Authorization: Bearer <token>` in constant time. */
export function checkToken(request: IncomingMessage, settings: GuardSettings): void {
  const header = request.headers.authorization;
  if (header === undefined) {
    throw new RequestError(
      401,
      'token-missing',
      'This API needs a token: send the header "Authorization: Bearer <token>" with the token hopgen serve printed (or HOPGEN_SERVE_TOKEN).',
    );
  }
  // The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
  const match = /^Bearer +(\S+) *$/i.exec(header);
  // Hashing first gives both sides the same length, as timingSafeEqual requires.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  if (!match || !timingSafeEqual(digest(match[1]!), digest(settings.token))) {
    throw new RequestError(
      401,
      'token-wrong',
      'The token is wrong. Send "Authorization: Bearer <token>" with the token hopgen serve printed at start.',
    );
  }
}

/** Reads a JSON body of at most `maxBodyBytes`; an empty body reads as `{}`. */
export async function readJsonBody(request: IncomingMessage, settings: GuardSettings): Promise<unknown> {
  const type = request.headers['content-type'];
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > settings.maxBodyBytes) throw tooLarge(settings);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > settings.maxBodyBytes) throw tooLarge(settings);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  if (type === undefined || !/^application\/json\b/i.test(type)) {
    throw new RequestError(
      415,
      'content-type-not-json',
      `The body must be JSON: send it with "Content-Type: application/json" (got ${type ?? 'none'}).`,
    );
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new RequestError(
      400,
      'body-not-json',
      `The body is not valid JSON (${error instanceof Error ? error.message : String(error)}). Send a JSON object.`,
    );
  }
}

function tooLarge(settings: GuardSettings): RequestError {
  return new RequestError(
    413,
    'body-too-large',
    `The body is larger than ${settings.maxBodyBytes} bytes. Send less, or raise serve({ maxBodyBytes }).`,
  );
}
