import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ISOLATION } from './helpers/local-server.js';

/** `npx hopgen-sandbox` as a user runs it: a child process, its key from the environment or a file. */

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hopgen-cli-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface RunningCli {
  child: ChildProcess;
  baseURL: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stderr has a line matching `pattern`. */
  logged: (pattern: RegExp) => Promise<void>;
}

function startCli(args: string[], environment: Record<string, string> = {}): Promise<RunningCli> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, '--port', '0', '--isolation', TEST_ISOLATION, ...args],
    {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, HOPGEN_SANDBOX_API_KEY: '', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of waiters.filter((entry) => entry.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /HOPX_BASE_URL=(\S+)/.exec(stdout);
      if (match?.[1] && stdout.includes('HOPX_API_KEY')) {
        resolve({
          child,
          baseURL: match[1],
          stdout: () => stdout,
          stderr: () => stderr,
          logged: (pattern) =>
            pattern.test(stderr)
              ? Promise.resolve()
              : new Promise((done) => waiters.push({ pattern, resolve: done })),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`hopgen-sandbox exited with ${code}: ${stderr}`)));
  });
}

async function stop(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGTERM');
  if (cli.child.exitCode === null && cli.child.signalCode === null) await once(cli.child, 'exit');
}

describe('hopgen-sandbox', () => {
  it('refuses --api-key on the command line and names the environment variable and the file option', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--api-key', 'visible-in-ps'], {
      cwd: REPOSITORY_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('HOPGEN_SANDBOX_API_KEY');
    expect(stderr).toContain('--api-key-file');
  });

  it('takes its key from HOPGEN_SANDBOX_API_KEY, logs sandbox events and rejected keys, and never the key', async () => {
    const key = `fixed-key-${process.pid}`;
    const cli = await startCli([], { HOPGEN_SANDBOX_API_KEY: key });
    try {
      expect(cli.stdout()).not.toContain(key);
      const sandbox = await Sandbox.create({
        template: 'code-interpreter',
        apiKey: key,
        baseURL: cli.baseURL,
      });
      await cli.logged(new RegExp(`sandbox ${sandbox.sandboxId} created`));
      const rejected = await fetch(`${cli.baseURL}/v1/sandboxes`, { headers: { 'x-api-key': 'wrong-key' } });
      expect(rejected.status).toBe(401);
      await cli.logged(/401 AUTHENTICATION_REQUIRED on GET \/v1\/sandboxes: Invalid API key/);
      await sandbox.kill();
      await cli.logged(new RegExp(`sandbox ${sandbox.sandboxId} deleted`));
      expect(cli.stderr()).not.toContain(key);
      expect(cli.stderr()).not.toContain('wrong-key');
    } finally {
      await stop(cli);
    }
  }, 60_000);

  it('takes its key from --api-key-file; --quiet keeps errors and drops events', async () => {
    const keyFile = path.join(directory, 'key');
    await writeFile(keyFile, 'key-from-file\n', { mode: 0o600 });
    const cli = await startCli(['--api-key-file', keyFile, '--quiet']);
    try {
      const sandbox = await Sandbox.create({
        template: 'code-interpreter',
        apiKey: 'key-from-file',
        baseURL: cli.baseURL,
      });
      await fetch(`${cli.baseURL}/v1/sandboxes`, { headers: { 'x-api-key': 'wrong-key' } });
      await cli.logged(/401 AUTHENTICATION_REQUIRED/);
      await sandbox.kill();
      expect(cli.stderr()).not.toMatch(/sandbox \S+ (created|deleted)/);
    } finally {
      await stop(cli);
    }
  }, 60_000);
});
