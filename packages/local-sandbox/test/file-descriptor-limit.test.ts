import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';

const childScript = fileURLToPath(new URL('./support/limited-server-child.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
// Enough for the server and a dozen sandboxes, so that creates run out part-way.
const OPEN_FILES_LIMIT = 120;

let child: ChildProcess | undefined;

afterAll(async () => {
  // SIGINT: the server stops and removes its sandboxes.
  child?.kill('SIGINT');
  if (child?.exitCode === null) await new Promise((resolve) => child?.once('exit', resolve));
});

/** Sandbox directories (workspace and tmp mounts) the server with this pid holds under its root. */
async function sandboxDirectories(serverPid: number): Promise<string[]> {
  const roots = (await readdir(tmpdir())).filter((name) => name.startsWith(`hopgen-sandboxes-${serverPid}-`));
  const entries = await Promise.all(roots.map((root) => readdir(path.join(tmpdir(), root))));
  return entries.flat().filter((name) => !name.startsWith('.'));
}

describe('a server out of file descriptors', () => {
  it('answers a create with EMFILE and the limit to raise, releases what it took, and keeps serving', async () => {
    const server = spawn(
      'bash',
      ['-c', `ulimit -n ${OPEN_FILES_LIMIT} && exec "$0" --import tsx "$1"`, process.execPath, childScript],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = server;
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      server.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string);
      });
      server.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready`)));
    });
    const { baseURL, apiKey } = JSON.parse(line) as { baseURL: string; apiKey: string };
    const options = { template: 'base', apiKey, baseURL };

    const created: Sandbox[] = [];
    let failure: unknown;
    while (failure === undefined && created.length < OPEN_FILES_LIMIT) {
      await Sandbox.create(options).then(
        (sandbox) => created.push(sandbox),
        (error: unknown) => {
          failure = error;
        },
      );
    }
    expect((failure as Error).message).toContain(
      'The sandbox server is out of file descriptors (EMFILE: too many open files). Raise its open-files limit (`ulimit -n 65536`',
    );
    // More failed creates take nothing either: only the sandboxes that exist have directories.
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(Sandbox.create(options)).rejects.toThrow(/EMFILE/);
    const listed = await Sandbox.list({ apiKey, baseURL });
    expect(listed.map((sandbox) => sandbox.sandboxId).sort()).toEqual(
      created.map((sandbox) => sandbox.sandboxId).sort(),
    );

    for (const sandbox of created) await sandbox.kill();
    // What the failed creates took (each 503 is also retried by the SDK) is released once descriptors
    // are free; a delete's own release runs after its answer, so this waits for the directories to go.
    await expect.poll(() => sandboxDirectories(server.pid as number), { timeout: 30_000 }).toEqual([]);
    const again = await Sandbox.create(options);
    expect((await again.runCode('echo served', { language: 'bash' })).stdout).toBe('served\n');
    await again.kill();
  });
});
