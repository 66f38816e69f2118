import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type APIError, FileNotFoundError, type Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSandboxesAndClose, startTestServer, type TestServer } from './helpers/local-server.js';

let server: TestServer;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer();
  sandbox = await server.create({ template: 'base' });
});

afterAll(async () => {
  await sandbox?.kill();
  await expectNoSandboxesAndClose(server);
});

/** The SDK's runtime FileInfo has `isDir`/`modifiedTime` getters its declared type lacks. */
type RuntimeFileInfo = { name: string; path: string; size: number; isDir: boolean; modifiedTime: string };

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as APIError;
}

describe('files through @hopx-ai/sdk', () => {
  it('writes, reads and lists files; sandboxed code sees and can modify them', async () => {
    await sandbox.files.write('/workspace/notes/hello.txt', 'héllo\n');
    expect(await sandbox.files.read('/workspace/notes/hello.txt')).toBe('héllo\n');
    expect(await sandbox.files.read('notes/hello.txt')).toBe('héllo\n');
    const fromCode = await sandbox.runCode(
      'p = "/workspace/notes/hello.txt"\nprint(open(p).read(), end="")\nopen(p, "a").write("more\\n")',
    );
    expect(fromCode.stdout).toBe('héllo\n');
    expect(fromCode.stderr).toBe('');
    expect(await sandbox.files.read('/workspace/notes/hello.txt')).toBe('héllo\nmore\n');
    const listing = (await sandbox.files.list('/workspace')) as unknown as RuntimeFileInfo[];
    const notes = listing.find((entry) => entry.name === 'notes');
    expect(notes?.isDir).toBe(true);
    expect(notes?.path).toBe('/workspace/notes');
    const inside = (await sandbox.files.list('/workspace/notes')) as unknown as RuntimeFileInfo[];
    expect(inside.map((entry) => [entry.name, entry.isDir, entry.size])).toEqual([['hello.txt', false, 12]]);
    expect(typeof inside[0]?.modifiedTime).toBe('string');
  });

  it('writes base64 bytes, uploads a local file and downloads raw bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    await sandbox.files.writeBytes('/workspace/blob.bin', bytes);
    expect(Buffer.compare(await sandbox.files.readBytes('/workspace/blob.bin'), bytes)).toBe(0);
    const local = path.join(tmpdir(), `hopgen-upload-${process.pid}.bin`);
    const payload = Buffer.alloc(300_000, 7);
    await writeFile(local, payload);
    try {
      await sandbox.files.upload(local, '/workspace/uploaded.bin');
    } finally {
      await rm(local, { force: true });
    }
    const downloaded = await sandbox.files.download('/workspace/uploaded.bin');
    expect(downloaded.length).toBe(payload.length);
    expect(Buffer.compare(downloaded, payload)).toBe(0);
    const size = await sandbox.runCode('import os; print(os.path.getsize("/workspace/uploaded.bin"))');
    expect(size.stdout).toBe('300000\n');
  });

  it('checks existence, makes directories and removes files and trees', async () => {
    await sandbox.files.mkdir('/workspace/a/b/c');
    expect(await sandbox.files.exists('/workspace/a/b/c')).toBe(true);
    await sandbox.files.write('/workspace/a/b/c/file.txt', 'x');
    await sandbox.files.remove('/workspace/a/b/c/file.txt');
    expect(await sandbox.files.exists('/workspace/a/b/c/file.txt')).toBe(false);
    await sandbox.files.remove('/workspace/a');
    expect(await sandbox.files.exists('/workspace/a')).toBe(false);
    expect(await rejection(sandbox.files.read('/workspace/missing.txt'))).toBeInstanceOf(FileNotFoundError);
  });

  it('rejects paths that leave the workspace', async () => {
    for (const outsidePath of ['/etc/passwd', '/workspace/../etc/passwd', '../../etc/passwd', '/tmp/x']) {
      const error = await rejection(sandbox.files.read(outsidePath));
      expect(error.statusCode).toBe(403);
      expect(error.code).toBe('PATH_NOT_ALLOWED');
    }
    const write = await rejection(sandbox.files.write('/workspace/../../escaped.txt', 'x'));
    expect(write.code).toBe('PATH_NOT_ALLOWED');
    expect((await rejection(sandbox.files.list('/'))).code).toBe('PATH_NOT_ALLOWED');
    expect((await rejection(sandbox.files.remove('/workspace'))).code).toBe('PATH_NOT_ALLOWED');
  });

  it('never follows a symlink planted by sandboxed code to a host path', async () => {
    const planted = await sandbox.runCode(
      'ln -s /etc/hostname /workspace/link && ln -s /etc /workspace/etcdir && ln -s notes/hello.txt /workspace/inner',
      { language: 'bash' },
    );
    expect(planted.exit_code).toBe(0);
    // readBytes asks axios for an arraybuffer, so the SDK cannot parse the JSON error body: status only.
    expect((await rejection(sandbox.files.readBytes('/workspace/etcdir/passwd'))).statusCode).toBe(403);
    for (const attempt of [
      () => sandbox.files.read('/workspace/link'),
      () => sandbox.files.write('/workspace/link', 'overwrite'),
      () => sandbox.files.write('/workspace/etcdir/planted', 'x'),
      () => sandbox.files.list('/workspace/etcdir'),
    ]) {
      const error = await rejection(attempt());
      expect([error.code, error.message]).toEqual([
        'PATH_NOT_ALLOWED',
        expect.stringMatching(/outside \/workspace/),
      ]);
    }
    // A link that stays inside the workspace is followed.
    expect(await sandbox.files.read('/workspace/inner')).toBe('héllo\nmore\n');
    // Removing a link removes the link, never its target.
    await sandbox.files.remove('/workspace/link');
    expect(await sandbox.files.exists('/workspace/link')).toBe(false);
  });
});
