import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { SANDBOX_WORKSPACE_PATH } from '../isolation/sandbox-environment.js';
import { HopxHttpError, optionalString, readJsonObject, sendJson } from './http-utilities.js';
import type { SandboxSession } from './sandbox-session.js';
import { outsideWorkspace, sandboxPathOf, workspaceRelativePath } from './workspace-paths.js';

/** Largest file accepted by write and upload. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
/**
 * Largest JSON body of `POST /files/write`, in bytes (64 MiB: about 48 MiB of file as base64). Bigger
 * files go through `POST /files/upload` (multipart, streamed, up to MAX_FILE_BYTES).
 */
export const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024;
/**
 * Largest file `GET /files/read` returns as a JSON string, in bytes (its logical and its allocated
 * size). The string and its JSON escaping live in memory at once; bigger files stream through
 * `GET /files/download`.
 */
export const MAX_READ_BYTES = 16 * 1024 * 1024;
/** Entries per `GET /files/list` page unless `limit` asks for fewer; `next_cursor` continues. */
export const LIST_PAGE_ENTRIES = 10_000;

function notFound(requested: string): HopxHttpError {
  return new HopxHttpError(404, 'FILE_NOT_FOUND', `File not found: ${requested}`, { path: requested });
}

function mapErrno(code: string, requested: string, message: string): HopxHttpError {
  if (code === 'ENOENT') return notFound(requested);
  if (code === 'ELOOP') {
    return new HopxHttpError(
      403,
      'PATH_NOT_ALLOWED',
      `Path ${JSON.stringify(requested)} is a symbolic link.`,
    );
  }
  if (code === 'EISDIR') return new HopxHttpError(400, 'INVALID_PATH', `${requested} is a directory.`);
  if (code === 'ENOTDIR') return new HopxHttpError(400, 'INVALID_PATH', `${requested} is not a directory.`);
  if (code === 'ENXIO') return new HopxHttpError(400, 'INVALID_PATH', `${requested} is not a regular file.`);
  if (code === 'EACCES' || code === 'EPERM') {
    return new HopxHttpError(403, 'PERMISSION_DENIED', `Permission denied: ${requested}`);
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    // A full workspace is the sandbox's condition, not the server's: a 5xx would make the SDK retry.
    return new HopxHttpError(413, 'FILE_OPERATION_FAILED', `The workspace is full: ${requested}`, {
      path: requested,
    });
  }
  return new HopxHttpError(400, 'FILE_OPERATION_FAILED', `File operation failed on ${requested}: ${message}`);
}

/** Turns a refusal of the file helper into the HopX error the SDK expects. */
function helperError(header: Record<string, unknown>, requested: string, maxBytes: number): HopxHttpError {
  if (typeof header.errno === 'string')
    return mapErrno(header.errno, requested, String(header.message ?? ''));
  switch (header.error) {
    case 'OUTSIDE':
      return outsideWorkspace(requested);
    case 'ROOT':
      return new HopxHttpError(403, 'PATH_NOT_ALLOWED', 'Refusing to remove the workspace itself.');
    case 'IS_DIRECTORY':
      return new HopxHttpError(400, 'INVALID_PATH', `${requested} is a directory.`);
    case 'NOT_DIRECTORY':
      return new HopxHttpError(400, 'INVALID_PATH', `${requested} or one of its parents is not a directory.`);
    case 'NOT_REGULAR':
      return new HopxHttpError(
        400,
        'INVALID_PATH',
        `${requested} is not a regular file (a FIFO, socket or device); only regular files can be read or written.`,
      );
    case 'TOO_LARGE':
      return new HopxHttpError(
        413,
        'FILE_OPERATION_FAILED',
        maxBytes === MAX_READ_BYTES
          ? `${requested} is larger than ${MAX_READ_BYTES} bytes (logical or allocated size): download it with files.download (GET /files/download) instead.`
          : `${requested} is larger than ${maxBytes} bytes.`,
        { path: requested },
      );
    case 'EXISTS':
      return new HopxHttpError(409, 'FILE_ALREADY_EXISTS', `File already exists: ${requested}`, {
        path: requested,
      });
    case 'BODY_INCOMPLETE':
      return new HopxHttpError(400, 'INVALID_REQUEST', 'The request body ended early.');
    default:
      throw new Error(
        `file helper failed on ${requested}: ${String(header.error)} ${String(header.message ?? '')}`,
      );
  }
}

/** Runs one file operation through the helper; throws the HopX error of a refusal. */
async function fileOperation(
  session: SandboxSession,
  operation: string,
  requested: string,
  fields: Record<string, unknown> = {},
  options: { body?: Buffer | AsyncIterable<Buffer>; maxReplyBytes?: number; stream?: boolean } = {},
): Promise<{ header: Record<string, unknown>; data: Buffer; body?: Readable; sandboxPath: string }> {
  const relative = workspaceRelativePath(requested);
  const maxBytes = typeof fields.max_bytes === 'number' ? fields.max_bytes : MAX_FILE_BYTES;
  const reply = await session.fileHelper.request(
    await session.fileTarget(),
    { op: operation, path: relative, max_bytes: MAX_FILE_BYTES, ...fields },
    options,
  );
  if (reply.header.ok !== true) {
    reply.body?.destroy();
    throw helperError(reply.header, requested, maxBytes);
  }
  const resolved = typeof reply.header.path === 'string' ? reply.header.path : relative;
  return { ...reply, sandboxPath: sandboxPathOf(resolved) };
}

/** Writes `data` to a workspace path (parents created) as the sandbox's owner, never outside it. */
export async function writeWorkspaceFile(
  session: SandboxSession,
  requested: string,
  data: Buffer | AsyncIterable<Buffer>,
  options: { overwrite: boolean; mode: number; filename?: string },
): Promise<{ sandboxPath: string; size: number }> {
  const fields: Record<string, unknown> = { overwrite: options.overwrite, mode: options.mode };
  if (options.filename !== undefined) fields.filename = options.filename;
  const reply = await fileOperation(session, 'write', requested, fields, { body: data });
  return { sandboxPath: reply.sandboxPath, size: Number(reply.header.size ?? 0) };
}

/** Opens a workspace file for reading: its size and its bytes as a stream (never all in memory). */
async function openWorkspaceFile(
  session: SandboxSession,
  requested: string,
  maxBytes: number,
): Promise<{ size: number; body: Readable; sandboxPath: string }> {
  const reply = await fileOperation(session, 'read', requested, { max_bytes: maxBytes }, { stream: true });
  return { size: Number(reply.header.size ?? 0), body: reply.body!, sandboxPath: reply.sandboxPath };
}

/** The `limit` of a listing page: 1 to LIST_PAGE_ENTRIES, LIST_PAGE_ENTRIES when absent. */
function pageLimit(value: string | null): number {
  if (value === null || value === '') return LIST_PAGE_ENTRIES;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new HopxHttpError(
      400,
      'INVALID_REQUEST',
      `Invalid limit ${JSON.stringify(value)}: use a whole number from 1.`,
    );
  }
  return Math.min(limit, LIST_PAGE_ENTRIES);
}

function parseMode(value: unknown): number {
  if (value === undefined || value === null) return 0o644;
  const text = String(value);
  if (!/^0?[0-7]{3,4}$/.test(text))
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Invalid file mode ${JSON.stringify(value)}.`);
  // Never setuid/setgid bits on files the host writes.
  return Number.parseInt(text, 8) & 0o777;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;

/** A listing entry as the helper reports it: lstat's mode, size and mtime in ms. */
interface ListedEntry {
  name: string;
  mode: number;
  size: number;
  mtime: number;
}

function permissions(mode: number): string {
  const letters = 'rwxrwxrwx';
  const type = mode & S_IFMT;
  let text = type === S_IFDIR ? 'd' : type === S_IFLNK ? 'l' : '-';
  for (let index = 0; index < 9; index++) text += mode & (1 << (8 - index)) ? letters[index] : '-';
  return text;
}

function fileInfo(entry: ListedEntry, sandboxPath: string): Record<string, unknown> {
  const modified = new Date(entry.mtime).toISOString();
  const type = entry.mode & S_IFMT;
  const isDirectory = type === S_IFDIR;
  return {
    name: entry.name,
    path: sandboxPath,
    size: isDirectory ? 0 : entry.size,
    is_dir: isDirectory,
    is_directory: isDirectory,
    is_file: type === S_IFREG,
    is_symlink: type === S_IFLNK,
    modified,
    modified_time: modified,
    permissions: permissions(entry.mode),
    mode: `0${(entry.mode & 0o777).toString(8)}`,
  };
}

/** A parsed upload; `file` is a private host temp file holding the part, removed by `discard`. */
interface Upload {
  path: string | undefined;
  filename: string | undefined;
  file: string | undefined;
  discard(): Promise<void>;
}

/**
 * Parses a multipart upload, streaming the `file` part to a private temp file (the SDK sends it
 * before `path`, so its destination is not known yet) instead of holding it in memory.
 */
async function parseUpload(request: IncomingMessage): Promise<Upload> {
  const directory = await mkdtemp(path.join(tmpdir(), 'hopgen-upload-'));
  const upload: Upload = {
    path: undefined,
    filename: undefined,
    file: undefined,
    discard: () => rm(directory, { recursive: true, force: true }),
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: request.headers,
          limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 10, fieldSize: 64 * 1024 },
        });
      } catch {
        reject(
          new HopxHttpError(
            400,
            'INVALID_REQUEST',
            'Upload must be multipart/form-data with fields "file" and "path".',
          ),
        );
        return;
      }
      let pendingFile: Promise<void> = Promise.resolve();
      parser.on('field', (name, value) => {
        if (name === 'path') upload.path = value;
      });
      parser.on('file', (name, stream, info) => {
        if (name !== 'file' || upload.file !== undefined) {
          stream.resume();
          return;
        }
        upload.filename = info.filename;
        const file = path.join(directory, 'file');
        upload.file = file;
        pendingFile = new Promise<void>((done, fail) => {
          stream.on('limit', () => {
            fail(
              new HopxHttpError(
                413,
                'FILE_OPERATION_FAILED',
                `Upload is larger than ${MAX_FILE_BYTES} bytes.`,
              ),
            );
          });
          pipeline(stream, createWriteStream(file, { mode: 0o600 })).then(done, fail);
        });
        pendingFile.catch(() => {});
      });
      parser.on('error', (error) =>
        reject(new HopxHttpError(400, 'INVALID_REQUEST', `Bad multipart body: ${String(error)}`)),
      );
      parser.on('close', () => {
        pendingFile.then(resolve, reject);
      });
      request.on('error', reject);
      request.pipe(parser);
    });
  } catch (error) {
    await upload.discard();
    throw error;
  }
  return upload;
}

/**
 * `attachment` with an ASCII `filename` fallback and the exact name as RFC 5987 `filename*`: a raw
 * non-Latin-1 header value would make Node throw.
 */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*!]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Serves `/files/*` for one sandbox. Returns false when the route is not a files route. */
export async function handleFileRoute(
  session: SandboxSession,
  method: string,
  route: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (method === 'GET' && route === '/files/read') {
    const requested = query.get('path') ?? '';
    const file = await openWorkspaceFile(session, requested, MAX_READ_BYTES);
    const chunks: Buffer[] = [];
    for await (const chunk of file.body) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    sendJson(response, 200, { content: data.toString('utf8'), path: file.sandboxPath, size: data.length });
    return true;
  }
  if (method === 'GET' && route === '/files/download') {
    const requested = query.get('path') ?? '';
    const file = await openWorkspaceFile(session, requested, MAX_FILE_BYTES);
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': file.size,
      'content-disposition': contentDisposition(path.posix.basename(requested) || 'download'),
    });
    // Streamed with backpressure; a file that shrank meanwhile ends the response short (the client sees it).
    await pipeline(file.body, response).catch(() => response.destroy());
    return true;
  }
  if (method === 'POST' && route === '/files/write') {
    const body = await readJsonObject(request, MAX_JSON_BODY_BYTES);
    const requested = optionalString(body, 'path');
    if (!requested) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required field "path".');
    const content = body.content ?? '';
    if (typeof content !== 'string')
      throw new HopxHttpError(400, 'INVALID_REQUEST', 'Field "content" must be a string.');
    const data = body.encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
    const written = await writeWorkspaceFile(session, requested, data, {
      overwrite: body.overwrite !== false,
      mode: parseMode(body.mode),
    });
    sendJson(response, 200, {
      success: true,
      path: written.sandboxPath,
      size: written.size,
      message: 'File written',
    });
    return true;
  }
  if (method === 'POST' && route === '/files/upload') {
    const upload = await parseUpload(request);
    let written: { sandboxPath: string; size: number };
    try {
      if (!upload.file) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing multipart field "file".');
      const requested = upload.path ?? upload.filename;
      if (!requested) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing multipart field "path".');
      written = await writeWorkspaceFile(session, requested, createReadStream(upload.file), {
        overwrite: true,
        mode: 0o644,
        filename: upload.filename ?? 'upload',
      });
    } finally {
      await upload.discard();
    }
    sendJson(response, 200, {
      success: true,
      path: written.sandboxPath,
      size: written.size,
      message: 'File uploaded',
    });
    return true;
  }
  if (method === 'GET' && route === '/files/list') {
    const requested = query.get('path') || SANDBOX_WORKSPACE_PATH;
    const limit = pageLimit(query.get('limit'));
    const cursor = query.get('cursor');
    const reply = await fileOperation(session, 'list', requested, {
      limit,
      ...(cursor ? { after: cursor } : {}),
    });
    const entries = (Array.isArray(reply.header.entries) ? reply.header.entries : []) as ListedEntry[];
    const base = reply.sandboxPath;
    // In code-point order of names, page after page (`cursor` = the last name of the previous page).
    const files = entries.map((entry) => fileInfo(entry, `${base}/${entry.name}`));
    const next = typeof reply.header.next_after === 'string' ? reply.header.next_after : null;
    sendJson(response, 200, {
      files,
      path: base,
      count: files.length,
      has_more: next !== null,
      next_cursor: next,
    });
    return true;
  }
  if (method === 'GET' && route === '/files/exists') {
    const reply = await fileOperation(session, 'exists', query.get('path') ?? '');
    const isDirectory = reply.header.is_dir === true;
    sendJson(response, 200, {
      exists: reply.header.exists === true,
      path: reply.sandboxPath,
      is_dir: isDirectory,
      is_directory: isDirectory,
    });
    return true;
  }
  if (method === 'DELETE' && route === '/files/remove') {
    const reply = await fileOperation(session, 'remove', query.get('path') ?? '');
    sendJson(response, 200, { success: true, path: reply.sandboxPath, message: 'Removed' });
    return true;
  }
  if (method === 'POST' && route === '/files/mkdir') {
    const body = await readJsonObject(request, 1024 * 1024);
    const requested = optionalString(body, 'path');
    if (!requested) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required field "path".');
    const reply = await fileOperation(session, 'mkdir', requested);
    sendJson(response, 200, { success: true, path: reply.sandboxPath, message: 'Directory created' });
    return true;
  }
  return false;
}
