import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

const childScript = fileURLToPath(new URL('./support/exit-child.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

interface ChildRun {
  /** Resolves with the child's `ready` report. */
  ready: Promise<{ sandboxIds: string[]; signalListeners?: number }>;
  /** Resolves when the child printed this line. */
  line(text: string): Promise<void>;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  child: ChildProcess;
}

/** Runs support/exit-child.ts as a separate Node process, the way a user's program runs. */
function runChild(...modeArguments: string[]): ChildRun {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...modeArguments], {
    cwd: repositoryRoot,
    env: { ...process.env, CHILD_HOPX_API_KEY: server.apiKey, CHILD_HOPX_BASE_URL: server.baseURL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    for (const waiter of waiters) if (lines.some((line) => line.startsWith(waiter.text))) waiter.resolve();
  });
  const line = (text: string) => new Promise<void>((resolve) => waiters.push({ text, resolve }));
  const ready = line('ready ').then(() => {
    const readyLine = stdout.split('\n').find((entry) => entry.startsWith('ready ')) as string;
    return JSON.parse(readyLine.slice('ready '.length));
  });
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { ready, line, exited, child };
}

/** Waits until the server has no live sandbox left (the watcher deletes them after the child is gone). */
async function noSandboxLeft(): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  let live = await liveSandboxIds(server);
  while (live.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    live = await liveSandboxIds(server);
  }
  return live;
}

describe('the executor and the process signals', () => {
  it('lets the program own Ctrl-C: its abort stops the block with its partial output and its finally runs', async () => {
    const run = runChild('abort');
    const { sandboxIds } = await run.ready;
    await run.line('running');
    expect(await liveSandboxIds(server)).toEqual(sandboxIds);
    run.child.kill('SIGINT');
    const { code, signal, stdout, stderr } = await run.exited;
    expect(stderr).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const resultLine = stdout.split('\n').find((line) => line.startsWith('result ')) as string;
    expect(JSON.parse(resultLine.slice('result '.length))).toEqual({
      exitCode: 130,
      output: 'started\nAborted',
    });
    expect(stdout).toContain('\nfinally\n');
    // close() in the program's finally deleted it before the process ended.
    expect(await liveSandboxIds(server)).toEqual([]);
  });

  it('leaves no sandbox behind when a second Ctrl-C kills the program during its clean-up', async () => {
    const run = runChild('abort', 'slow-cleanup');
    const { sandboxIds } = await run.ready;
    expect(sandboxIds).toHaveLength(1);
    await run.line('running');
    run.child.kill('SIGINT');
    await run.line('cleaning');
    run.child.kill('SIGINT');
    const { signal, stdout } = await run.exited;
    // The program had no listener left, so the second Ctrl-C did what Ctrl-C does by default.
    expect(signal).toBe('SIGINT');
    expect(stdout).not.toContain('finally');
    expect(await noSandboxLeft()).toEqual([]);
  });

  it('installs no signal listener, so SIGTERM ends the process as usual, and no sandbox is left', async () => {
    const run = runChild('idle');
    const report = await run.ready;
    expect(report.sandboxIds).toHaveLength(2);
    expect(report.signalListeners).toBe(0);
    run.child.kill('SIGTERM');
    expect((await run.exited).signal).toBe('SIGTERM');
    expect(await noSandboxLeft()).toEqual([]);
  });

  it('leaves no sandbox behind when the process is killed with SIGKILL', async () => {
    const run = runChild('idle');
    expect((await run.ready).sandboxIds).toHaveLength(2);
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(await noSandboxLeft()).toEqual([]);
  });

  it('leaves no sandbox behind when the program calls process.exit()', async () => {
    const run = runChild('exit');
    expect((await run.ready).sandboxIds).toHaveLength(2);
    const { code, stderr } = await run.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(await noSandboxLeft()).toEqual([]);
  });
});
