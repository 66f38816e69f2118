import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAITestServer } from '../../agents/test/support/openai-test-server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/run-hopgen.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function hopgen(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('the hopgen command', () => {
  it('lists its commands and refuses an unknown one', async () => {
    const help = hopgen(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output().stdout).toMatch(/serve\s+Serve the HTTP API/);
    const unknown = hopgen(['nonsense']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output().stderr).toContain('Unknown command nonsense');
  });

  it('hopgen serve names a bad option or a busy port in one sentence, without a stack trace', async () => {
    const pipelines = ['serve', '--pipelines', 'packages/cli/test/fixtures/pipelines.ts', '--store'];
    const directory = await mkdtemp(join(tmpdir(), 'hopgen-cli-'));
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const busyPort = (busy.address() as { port: number }).port;
    try {
      const origin = hopgen([...pipelines, directory, '--allowed-origin', 'http://localhost:3000/']);
      expect(await origin.exited).toBe(2);
      expect(origin.output().stderr).toContain(
        'Give the scheme, host and port only: "http://localhost:3000"',
      );
      const port = hopgen([...pipelines, directory, '--port', 'eighty']);
      expect(await port.exited).toBe(2);
      expect(port.output().stderr).toContain('--port eighty is not a port');
      const poll = hopgen([...pipelines, directory, '--cancel-poll-ms', 'often']);
      expect(await poll.exited).toBe(2);
      expect(poll.output().stderr).toContain('--cancel-poll-ms often is not a number of milliseconds');
      const inUse = hopgen([...pipelines, directory, '--port', String(busyPort)]);
      expect(await inUse.exited).toBe(1);
      expect(inUse.output().stderr).toContain(`port ${busyPort} is in use`);
      for (const run of [origin, port, poll, inUse]) expect(run.output().stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('hopgen serve prints its address with the token from HOPGEN_SERVE_TOKEN kept off the screen, and serves runs', async () => {
    const model = await startOpenAITestServer(() => ({ content: 'Hello.' }));
    const directory = await mkdtemp(join(tmpdir(), 'hopgen-cli-'));
    const token = 'a-token-from-the-environment';
    try {
      const served = hopgen(
        [
          'serve',
          '--pipelines',
          'packages/cli/test/fixtures/pipelines.ts',
          '--store',
          directory,
          '--port',
          '0',
        ],
        { HOPGEN_SERVE_TOKEN: token, HOPGEN_TEST_MODEL_URL: model.baseURL },
      );
      const url = await new Promise<string>((resolve, reject) => {
        served.child.stdout!.on('data', () => {
          const match = /hopgen serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(served.output().stdout);
          if (match) resolve(match[1]!);
        });
        served.child.on('exit', () => reject(new Error(`exited: ${served.output().stderr}`)));
      });
      expect(served.output().stdout).not.toContain(token);
      expect(served.output().stdout).toContain('#token=<HOPGEN_SERVE_TOKEN>');
      const started = await fetch(`${url}/api/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pipeline: 'greeter', input: { task: 'Hi.' }, runId: 'from-cli' }),
      });
      expect(started.status).toBe(201);
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    } finally {
      await model.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
