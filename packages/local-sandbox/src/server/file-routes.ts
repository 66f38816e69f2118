import { constants, type Stats } from 'node:fs';
import { chown, lstat, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import busboy from 'busboy';
import { SANDBOX_WORKSPACE_PATH } from '../isolation/sandbox-environment.js';
import { HopxHttpError, optionalString, readJsonObject, sendJson } from './http-utilities.js';
import type { SandboxSession } from './sandbox-session.js';
import { openInsideWorkspace, resolveWorkspacePath } from './workspace-paths.js';

/** Largest file accepted by write and upload. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

async function workspaceRoot(session: SandboxSession): Promise<string> {
  return realpath(session.isolated.workspaceDir);
}

function notFound(requested: string): HopxHttpError {
  return new HopxHttpError(404, 'FILE_NOT_FOUND', `File not found: ${requested}`, { path: requested });
}

function mapFsError(error: unknown, requested: string): never {
  if (error instanceof HopxHttpError) throw error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw notFound(requested);
  if (code === 'ELOOP') {
    throw new HopxHttpError(403, 'PATH_NOT_ALLOWED', `Path ${JSON.stringify(requested)} is a symbolic link.`);
  }
  if (code === 'EISDIR') throw new HopxHttpError(400, 'INVALID_PATH', `${requested} is a directory.`);
  if (code === 'ENOTDIR') throw new HopxHttpError(400, 'INVALID_PATH', `${requested} is not a directory.`);
  if (code === 'EACCES' || code === 'EPERM') {
    throw new HopxHttpError(403, 'PERMISSION_DENIED', `Permission denied: ${requested}`);
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new HopxHttpError(507, 'FILE_OPERATION_FAILED', `The workspace is full: ${requested}`);
  }
  throw new HopxHttpError(
    400,
    'FILE_OPERATION_FAILED',
    `File operation failed on ${requested}: ${String(error)}`,
  );
}

/** Creates missing directories, owned by the sandbox user so its code can write there. */
async function makeDirectories(session: SandboxSession, root: string, directory: string): Promise<void> {
  const missing: string[] = [];
  let current = directory;
  while (current !== root && current.startsWith(`${root}/`)) {
    try {
      const info = await lstat(current);
      if (!info.isDirectory())
        throw new HopxHttpError(400, 'INVALID_PATH', 'A parent of the path is not a directory.');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(current);
      current = path.dirname(current);
    }
  }
  const owner = session.isolated.owner;
  for (const entry of missing) {
    try {
      await mkdir(entry, { mode: 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // Re-check: a symlink planted in the meantime must not redirect later steps.
    const real = await realpath(entry);
    if (real !== entry)
      throw new HopxHttpError(403, 'PATH_NOT_ALLOWED', 'The path changed while it was created.');
    if (owner) await chown(entry, owner.uid, owner.gid);
  }
}

/** Writes `data` to a workspace path (parents created), never following a planted symlink. */
export async function writeWorkspaceFile(
  session: SandboxSession,
  requested: string,
  data: Buffer,
  options: { overwrite: boolean; mode: number },
): Promise<{ sandboxPath: string; size: number }> {
  const root = await workspaceRoot(session);
  let target = await resolveWorkspacePath(root, requested);
  try {
    const info = await stat(target.hostPath);
    if (info.isDirectory()) {
      throw new HopxHttpError(400, 'INVALID_PATH', `${requested} is a directory.`);
    }
    if (!options.overwrite) {
      throw new HopxHttpError(409, 'FILE_ALREADY_EXISTS', `File already exists: ${requested}`, {
        path: requested,
      });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') mapFsError(error, requested);
  }
  await makeDirectories(session, root, path.dirname(target.hostPath)).catch((error) =>
    mapFsError(error, requested),
  );
  target = await resolveWorkspacePath(root, requested);
  let handle: Awaited<ReturnType<typeof openInsideWorkspace>>;
  try {
    handle = await openInsideWorkspace(
      root,
      target.hostPath,
      constants.O_WRONLY | constants.O_CREAT,
      options.mode,
    );
  } catch (error) {
    mapFsError(error, requested);
  }
  try {
    await handle.truncate(0);
    await handle.writeFile(data);
    await handle.chmod(options.mode);
    const owner = session.isolated.owner;
    if (owner) await handle.chown(owner.uid, owner.gid);
  } catch (error) {
    mapFsError(error, requested);
  } finally {
    await handle.close();
  }
  return { sandboxPath: target.sandboxPath, size: data.length };
}

async function readWorkspaceFile(
  session: SandboxSession,
  requested: unknown,
): Promise<{ data: Buffer; sandboxPath: string }> {
  const root = await workspaceRoot(session);
  const target = await resolveWorkspacePath(root, requested);
  let handle: Awaited<ReturnType<typeof openInsideWorkspace>>;
  try {
    handle = await openInsideWorkspace(root, target.hostPath, constants.O_RDONLY);
  } catch (error) {
    mapFsError(error, String(requested));
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory())
      throw new HopxHttpError(400, 'INVALID_PATH', `${String(requested)} is a directory.`);
    if (info.size > MAX_FILE_BYTES) {
      throw new HopxHttpError(
        413,
        'FILE_OPERATION_FAILED',
        `${String(requested)} is larger than ${MAX_FILE_BYTES} bytes.`,
      );
    }
    return { data: await handle.readFile(), sandboxPath: target.sandboxPath };
  } catch (error) {
    mapFsError(error, String(requested));
  } finally {
    await handle.close();
  }
}

function parseMode(value: unknown): number {
  if (value === undefined || value === null) return 0o644;
  const text = String(value);
  if (!/^0?[0-7]{3,4}$/.test(text))
    throw new HopxHttpError(400, 'INVALID_REQUEST', `Invalid file mode ${JSON.stringify(value)}.`);
  // Never setuid/setgid bits on files the host writes.
  return Number.parseInt(text, 8) & 0o777;
}

function permissions(info: Stats): string {
  const bits = info.mode & 0o777;
  const letters = 'rwxrwxrwx';
  let text = info.isDirectory() ? 'd' : info.isSymbolicLink() ? 'l' : '-';
  for (let index = 0; index < 9; index++) text += bits & (1 << (8 - index)) ? letters[index] : '-';
  return text;
}

function fileInfo(name: string, sandboxPath: string, info: Stats): Record<string, unknown> {
  const modified = info.mtime.toISOString();
  const isDirectory = info.isDirectory();
  return {
    name,
    path: sandboxPath,
    size: isDirectory ? 0 : info.size,
    is_dir: isDirectory,
    is_directory: isDirectory,
    is_file: info.isFile(),
    is_symlink: info.isSymbolicLink(),
    modified,
    modified_time: modified,
    permissions: permissions(info),
    mode: `0${(info.mode & 0o777).toString(8)}`,
  };
}

async function parseUpload(
  request: IncomingMessage,
): Promise<{ path: string | undefined; file: Buffer | undefined; filename: string | undefined }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 10 },
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
    const result: { path: string | undefined; file: Buffer | undefined; filename: string | undefined } = {
      path: undefined,
      file: undefined,
      filename: undefined,
    };
    let pendingFile: Promise<void> = Promise.resolve();
    parser.on('field', (name, value) => {
      if (name === 'path') result.path = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        return;
      }
      result.filename = info.filename;
      pendingFile = new Promise((done, fail) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('limit', () =>
          fail(
            new HopxHttpError(413, 'FILE_OPERATION_FAILED', `Upload is larger than ${MAX_FILE_BYTES} bytes.`),
          ),
        );
        stream.on('end', () => {
          result.file = Buffer.concat(chunks);
          done();
        });
        stream.on('error', fail);
      });
    });
    parser.on('error', (error) =>
      reject(new HopxHttpError(400, 'INVALID_REQUEST', `Bad multipart body: ${String(error)}`)),
    );
    parser.on('close', () => {
      pendingFile.then(() => resolve(result), reject);
    });
    request.pipe(parser);
  });
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
  const root = () => workspaceRoot(session);
  if (method === 'GET' && route === '/files/read') {
    const requested = query.get('path') ?? '';
    const { data, sandboxPath } = await readWorkspaceFile(session, requested);
    sendJson(response, 200, { content: data.toString('utf8'), path: sandboxPath, size: data.length });
    return true;
  }
  if (method === 'GET' && route === '/files/download') {
    const requested = query.get('path') ?? '';
    const { data } = await readWorkspaceFile(session, requested);
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': data.length,
      'content-disposition': `attachment; filename="${path.basename(requested).replace(/["\\\r\n]/g, '_')}"`,
    });
    response.end(data);
    return true;
  }
  if (method === 'POST' && route === '/files/write') {
    const body = await readJsonObject(request, MAX_FILE_BYTES * 2);
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
    if (!upload.file) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing multipart field "file".');
    let requested = upload.path ?? upload.filename;
    if (!requested) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing multipart field "path".');
    const target = await resolveWorkspacePath(await root(), requested);
    const existing = await stat(target.hostPath).catch(() => undefined);
    if (existing?.isDirectory())
      requested = `${target.sandboxPath}/${path.basename(upload.filename ?? 'upload')}`;
    const written = await writeWorkspaceFile(session, requested, upload.file, {
      overwrite: true,
      mode: 0o644,
    });
    sendJson(response, 200, {
      success: true,
      path: written.sandboxPath,
      size: written.size,
      message: 'File uploaded',
    });
    return true;
  }
  if (method === 'GET' && route === '/files/list') {
    const workspace = await root();
    const target = await resolveWorkspacePath(workspace, query.get('path') || SANDBOX_WORKSPACE_PATH);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(target.hostPath, { withFileTypes: true });
    } catch (error) {
      mapFsError(error, query.get('path') ?? '');
    }
    const files: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        const info = await lstat(path.join(target.hostPath, entry.name));
        const sandboxPath =
          target.sandboxPath === '/' ? `/${entry.name}` : `${target.sandboxPath}/${entry.name}`;
        files.push(fileInfo(entry.name, sandboxPath, info));
      } catch {
        // Removed while listing.
      }
    }
    files.sort((left, right) => String(left.name).localeCompare(String(right.name)));
    sendJson(response, 200, { files, path: target.sandboxPath, count: files.length });
    return true;
  }
  if (method === 'GET' && route === '/files/exists') {
    const requested = query.get('path') ?? '';
    const target = await resolveWorkspacePath(await root(), requested, { followFinalLink: false });
    const info = await lstat(target.hostPath).catch(() => undefined);
    sendJson(response, 200, {
      exists: info !== undefined,
      path: target.sandboxPath,
      is_dir: info?.isDirectory() ?? false,
      is_directory: info?.isDirectory() ?? false,
    });
    return true;
  }
  if (method === 'DELETE' && route === '/files/remove') {
    const requested = query.get('path') ?? '';
    const workspace = await root();
    const target = await resolveWorkspacePath(workspace, requested, { followFinalLink: false });
    if (target.hostPath === workspace) {
      throw new HopxHttpError(403, 'PATH_NOT_ALLOWED', `Refusing to remove the workspace itself.`);
    }
    const info = await lstat(target.hostPath).catch(() => undefined);
    if (!info) throw notFound(requested);
    // rm never follows symlinks inside what it deletes; a final symlink is removed, not its target.
    await rm(target.hostPath, { recursive: true, force: true }).catch((error) =>
      mapFsError(error, requested),
    );
    sendJson(response, 200, { success: true, path: target.sandboxPath, message: 'Removed' });
    return true;
  }
  if (method === 'POST' && route === '/files/mkdir') {
    const body = await readJsonObject(request, 1024 * 1024);
    const requested = optionalString(body, 'path');
    if (!requested) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required field "path".');
    const workspace = await root();
    const target = await resolveWorkspacePath(workspace, requested);
    const info = await lstat(target.hostPath).catch(() => undefined);
    if (info && !info.isDirectory()) {
      throw new HopxHttpError(409, 'FILE_ALREADY_EXISTS', `${requested} exists and is not a directory.`);
    }
    if (!info)
      await makeDirectories(session, workspace, target.hostPath).catch((error) =>
        mapFsError(error, requested),
      );
    sendJson(response, 200, { success: true, path: target.sandboxPath, message: 'Directory created' });
    return true;
  }
  return false;
}
