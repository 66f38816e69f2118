import { spawn } from 'node:child_process';
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

interface ChildReport {
  sandboxIds: string[];
  signalListeners: number;
  exitListeners: number;
}

/** Starts the child, waits for its report, then lets `finish` end it; resolves with how it ended. */
function runChild(mode: 'exit' | 'signal', finish: (child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, mode], {
    cwd: repositoryRoot,
    env: { ...process.env, CHILD_HOPX_API_KEY: server.apiKey, CHILD_HOPX_BASE_URL: server.baseURL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let report: ChildReport | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (report === undefined && stdout.includes('\n')) {
      report = JSON.parse(stdout.split('\n')[0] as string) as ChildReport;
      finish(child);
    }
  });
  return new Promise<{
    report: ChildReport | undefined;
    code: number | null;
    signal: string | null;
    stderr: string;
  }>((resolve) => child.on('exit', (code, signal) => resolve({ report, code, signal, stderr })));
}

describe('process exit cleanup', () => {
  it('kills every executor sandbox when the process calls process.exit(), with one shared listener', async () => {
    const { report, code, stderr } = await runChild('exit', () => {});
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(report?.sandboxIds).toHaveLength(2);
    expect(report?.signalListeners).toBe(1);
    expect(await liveSandboxIds(server)).toEqual([]);
  });

  it('kills every executor sandbox on SIGTERM, then exits by that signal', async () => {
    const { report, signal } = await runChild('signal', (child) => child.kill('SIGTERM'));
    expect(report?.sandboxIds).toHaveLength(2);
    expect(signal).toBe('SIGTERM');
    expect(await liveSandboxIds(server)).toEqual([]);
  });
});
