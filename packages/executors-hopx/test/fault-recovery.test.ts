import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_RESTARTED_NOTICE, SandboxFileError, SandboxUnavailableError } from '../src/index.js';
import { type FaultProxy, type RecordedRequest, startFaultProxy } from './support/fault-proxy.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

// Appends one line per run to a file in the sandbox and prints how many runs that file has seen.
const COUNT_RUNS = 'echo run >> /workspace/runs.txt\necho "runs=$(wc -l < /workspace/runs.txt)"';

let server: TestServer;
let proxy: FaultProxy;
const pool = new ExecutorPool(() => ({ apiKey: server.apiKey, baseURL: proxy.baseURL, stateful: false }));

beforeAll(async () => {
  server = await startTestServer();
});

beforeEach(async () => {
  proxy = await startFaultProxy(server.baseURL);
});

afterEach(async () => {
  await pool.closeAll();
  await proxy.close();
  expect(await liveSandboxIds(server)).toEqual([]);
});

afterAll(async () => {
  await server?.close();
});

const isExecute = ({ method, path }: { method: string; path: string }) =>
  method === 'POST' && /\/execute(\/ipython)?$/.test(path);

/** The sandbox each `/execute` call went to (the agent path is `public_host` + `/execute`). */
function executeCallsBySandbox(requests: RecordedRequest[]): string[] {
  return requests.filter(isExecute).map((request) => request.path.replace(/\/execute(\/ipython)?$/, ''));
}

describe('the bare SDK (why the executor guards execution)', () => {
  it('re-sends /execute after a 500, so the code runs three times in the same sandbox', async () => {
    const sandbox = await Sandbox.create({
      template: 'code-interpreter',
      apiKey: server.apiKey,
      baseURL: proxy.baseURL,
    });
    try {
      proxy.injectFault({ kind: 'forward-then-500', match: isExecute, times: 3 });
      await expect(sandbox.runCode(COUNT_RUNS, { language: 'bash', timeout: 10 })).rejects.toThrow();
      const runs = await sandbox.files.read('/workspace/runs.txt');
      expect(runs).toBe('run\nrun\nrun\n');
      expect(new Set(executeCallsBySandbox(proxy.requests)).size).toBe(1);
    } finally {
      await sandbox.kill();
    }
  });
});

describe('HopXCodeExecutor fault recovery', () => {
  it('after a 500 from /execute, runs the block once on a fresh sandbox and says state was lost', async () => {
    const executor = pool.create();
    await executor.executeCodeBlocks([{ language: 'bash', code: 'echo warm > /workspace/state.txt' }]);
    const firstSandbox = executor.sandboxId;
    proxy.injectFault({ kind: 'forward-then-500', match: isExecute });

    const result = await executor.executeCodeBlocks([{ language: 'bash', code: COUNT_RUNS }]);

    expect(result).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nruns=1\n` });
    expect(executor.sandboxId).not.toBe(firstSandbox);
    // Exactly one /execute of the block per sandbox: the faulted one, then the retry on the fresh one.
    const calls = executeCallsBySandbox(proxy.requests);
    expect(calls).toHaveLength(3);
    expect(calls[1]).toBe(calls[0]);
    expect(calls[2]).not.toBe(calls[1]);
    expect(await executor.readFile('/workspace/runs.txt')).toBe('run\n');
    // The broken sandbox was killed; only the fresh one is alive.
    expect(await liveSandboxIds(server)).toEqual([executor.sandboxId]);
  });

  it('after a connection dropped mid-call, recovers the same way without running the code twice', async () => {
    const executor = pool.create();
    proxy.injectFault({ kind: 'drop-after-forward', match: isExecute });

    const result = await executor.executeCodeBlocks([{ language: 'bash', code: COUNT_RUNS }]);

    expect(result).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nruns=1\n` });
    const calls = executeCallsBySandbox(proxy.requests);
    expect(calls).toHaveLength(2);
    expect(calls[0]).not.toBe(calls[1]);
    expect(proxy.requests.filter(isExecute)[0]?.fault).toBe('drop-after-forward');
    expect(await executor.readFile('/workspace/runs.txt')).toBe('run\n');
  });

  it('replaces a sandbox that expired between messages and says the state was lost', async () => {
    const executor = pool.create({ stateful: true });
    await executor.executeCodeBlocks([{ language: 'python', code: 'answer = 42' }]);
    const expired = executor.sandboxId as string;
    const handle = await Sandbox.connect(expired, server.apiKey, server.baseURL);
    await handle.kill();

    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print("alive")\nprint(globals().get("answer"))' },
    ]);

    expect(result).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nalive\nNone\n` });
    expect(executor.sandboxId).not.toBe(expired);
  });

  it('replaces a sandbox that its TTL expired while idle', async () => {
    const executor = pool.create({ stateful: true, sandboxTtlMs: 1_000 });
    await executor.executeCodeBlocks([{ language: 'python', code: 'answer = 42' }]);
    const expired = executor.sandboxId;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await liveSandboxIds(server)).toEqual([]);

    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(globals().get("answer"))' },
    ]);

    expect(result).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nNone\n` });
    expect(executor.sandboxId).not.toBe(expired);
  });

  it('keeps extending the TTL of a sandbox that is in use', async () => {
    const executor = pool.create({ stateful: true, sandboxTtlMs: 2_000 });
    await executor.executeCodeBlocks([{ language: 'python', code: 'uses = 0' }]);
    const sandboxId = executor.sandboxId;
    for (let use = 1; use <= 4; use += 1) {
      await new Promise((resolve) => setTimeout(resolve, 800));
      const result = await executor.executeCodeBlocks([{ language: 'python', code: 'uses += 1\nuses' }]);
      expect(result).toEqual({ exitCode: 0, output: `${use}\n` });
    }
    // 3.2 s after creation, well past the 2 s TTL, the first sandbox is still the one in use.
    expect(executor.sandboxId).toBe(sandboxId);
  });

  it('a 500 from a file route fails that call only: the healthy sandbox and its variables stay', async () => {
    const executor = pool.create({ stateful: true });
    await executor.executeCodeBlocks([{ language: 'python', code: 'x = 41' }]);
    const sandboxId = executor.sandboxId;
    proxy.injectFault({ kind: 'respond-500', match: ({ path }) => path.includes('/files'), times: 10 });

    await expect(executor.downloadFile('/workspace/anything.txt')).rejects.toThrow(SandboxFileError);

    expect(executor.sandboxId).toBe(sandboxId);
    const result = await executor.executeCodeBlocks([{ language: 'python', code: 'print(x + 1)' }]);
    expect(result).toEqual({ exitCode: 0, output: '42\n' });
  });

  it('a file call that finds the sandbox dead replaces it, and the next block says state was lost', async () => {
    const executor = pool.create({ stateful: true });
    await executor.executeCodeBlocks([{ language: 'python', code: 'x = 41' }]);
    const dead = executor.sandboxId as string;
    await (await Sandbox.connect(dead, server.apiKey, server.baseURL)).kill();

    await expect(executor.readFile('/workspace/anything.txt')).rejects.toThrow(SandboxFileError);

    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(globals().get("x"))' },
    ]);
    expect(result).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nNone\n` });
    expect(executor.sandboxId).not.toBe(dead);
  });

  it('gives up with SandboxUnavailableError after maxRetries fresh sandboxes, leaking none', async () => {
    const executor = pool.create({ maxRetries: 2 });
    proxy.injectFault({ kind: 'respond-500', match: isExecute, times: 10 });
    const ends: unknown[] = [];
    executor.on('execution-finished', (event) => ends.push(event));

    await expect(executor.executeCodeBlocks([{ language: 'bash', code: COUNT_RUNS }])).rejects.toThrow(
      SandboxUnavailableError,
    );

    const calls = executeCallsBySandbox(proxy.requests);
    expect(calls).toHaveLength(3);
    expect(new Set(calls).size).toBe(3);
    expect(ends).toEqual([expect.objectContaining({ exitCode: undefined, sandboxRestarted: true })]);
    expect(await liveSandboxIds(server)).toEqual([]);
  });
});
