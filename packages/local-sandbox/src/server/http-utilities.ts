import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** HopX error codes used by this server (agent `ErrorCode` enum plus control-plane codes). */
export type HopxErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'MISSING_PARAMETER'
  | 'METHOD_NOT_ALLOWED'
  | 'PATH_NOT_ALLOWED'
  | 'INVALID_PATH'
  | 'FILE_NOT_FOUND'
  | 'FILE_ALREADY_EXISTS'
  | 'DIRECTORY_NOT_FOUND'
  | 'FILE_OPERATION_FAILED'
  | 'PERMISSION_DENIED'
  | 'EXECUTION_TIMEOUT'
  | 'EXECUTION_FAILED'
  | 'PROCESS_NOT_FOUND'
  | 'UNSUPPORTED_LANGUAGE'
  | 'SANDBOX_NOT_FOUND'
  | 'SANDBOX_PAUSED'
  | 'TEMPLATE_NOT_FOUND'
  | 'AUTHENTICATION_REQUIRED'
  | 'INVALID_TOKEN'
  | 'NOT_FOUND'
  | 'INTERNAL_ERROR';

/** An error answered with HopX's body `{ error, message, code, request_id }`. */
export class HopxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HopxErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A short random id for `request_id` and the `x-request-id` header. */
export function newRequestId(): string {
  return `req_${randomBytes(8).toString('hex')}`;
}

/** Sends `body` as JSON with `status`. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Sends HopX's error body. */
export function sendError(response: ServerResponse, error: HopxHttpError, requestId: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // The rest of a refused body is not read; closing is cheaper than draining it.
  if (error.status === 413) response.setHeader('connection', 'close');
  sendJson(response, error.status, {
    error: error.message,
    message: error.message,
    code: error.code,
    request_id: requestId,
    ...error.extra,
  });
}

/** Reads the whole request body, refusing more than `limitBytes`. */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limitBytes) {
        // Keep the socket so the 413 reaches the client; sendError closes the connection after it.
        refused = true;
        chunks.length = 0;
        reject(new HopxHttpError(413, 'INVALID_REQUEST', `Request body is larger than ${limitBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Reads a JSON object body; an empty body is `{}`. */
export async function readJsonObject(
  request: IncomingMessage,
  limitBytes: number,
): Promise<Record<string, unknown>> {
  const body = await readBody(request, limitBytes);
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HopxHttpError(400, 'INVALID_JSON', 'Request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HopxHttpError(400, 'INVALID_REQUEST', 'Request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** Reads an optional string field, rejecting other types. */
export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Field "${name}" must be a string.`);
  }
  return value;
}

/** Reads a required string field. */
export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = optionalString(body, name);
  if (value === undefined) {
    throw new HopxHttpError(400, 'MISSING_PARAMETER', `Missing required field "${name}".`);
  }
  return value;
}

/** Reads an optional positive number field (seconds, counts), at most `maximum`. */
export function optionalPositiveNumber(
  body: Record<string, unknown>,
  name: string,
  maximum = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Field "${name}" must be a positive number.`);
  }
  if (value > maximum) {
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Field "${name}" must be at most ${maximum}.`);
  }
  return value;
}

/** Longest sandbox TTL accepted, in seconds (10 years; longer means "no TTL": leave it out). */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
/** Longest execution timeout accepted, in seconds (30 days). */
export const MAX_EXECUTION_TIMEOUT_SECONDS = 30 * 24 * 3600;

/** Reads an optional `{ name: string }` map (environment variables). */
export function optionalStringMap(
  body: Record<string, unknown>,
  name: string,
): Record<string, string> | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Field "${name}" must be an object of strings.`);
  }
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (key === '' || key.includes('=') || key.includes('\0')) {
      throw new HopxHttpError(
        400,
        'INVALID_REQUEST',
        `Invalid environment variable name ${JSON.stringify(key)}.`,
      );
    }
    if (typeof entry !== 'string' || entry.includes('\0')) {
      throw new HopxHttpError(
        400,
        'INVALID_REQUEST',
        `Value of ${JSON.stringify(key)} in "${name}" must be a string.`,
      );
    }
    result[key] = entry;
  }
  return result;
}

/** The bearer token or API key a request carries, if any. */
export function credentialsOf(request: IncomingMessage): { bearer?: string; apiKey?: string } {
  const result: { bearer?: string; apiKey?: string } = {};
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization.toLowerCase().startsWith('bearer ')) {
    result.bearer = authorization.slice(7).trim();
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string') result.apiKey = apiKey;
  return result;
}
