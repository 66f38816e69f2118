import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type HopXCodeExecutor,
  HopXExecutorError,
  SandboxFileError,
  SandboxUnavailableError,
} from '../src/index.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

/**
 * The executor against a server that misbehaves: one stopped with SIGSTOP in the middle of a block,
 * one that hands out a sandbox id made to escape `outputDir`, and an interpreter that prints more
 * than the server keeps or is killed mid-block.
 */

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliSource = fileURLToPath(new URL('../../local-sandbox/src/cli.ts', import.meta.url));

let server: TestServer;
let workDirectory: string;
const pool = new ExecutorPool(() => ({ apiKey: server.apiKey, baseURL: server.baseURL }));

beforeAll(async () => {
  server = await startTestServer();
  workDirectory = await mkdtemp(join(tmpdir(), 'hopgen-hostile-server-'));
});

afterEach(async () => {
  await pool.closeAll();
  expect(await liveSandboxIds(server)).toEqual([]);
});

afterAll(async () => {
  await server?.close();
  await rm(workDirectory, { recursive: true, force: true });
});

describe('stateful Python output', () => {
  it('exits 0 however much a block prints, and no status marker reaches the output', async () => {
    const executor = pool.create();
    for (const size of [4_194_294, 6 * 1024 * 1024]) {
      const result = await executor.executeCodeBlocks([
        {
          language: 'python',
          code: `import sys\nsys.stdout.write("y" * ${size})\nprint()\nprint("last line")`,
        },
      ]);
      expect(result.exitCode).toBe(0);
      expect(result.output).not.toMatch(/__H|HOPGEN/);
      expect(result.output.endsWith('last line\n')).toBe(true);
    }
  }, 60_000);

  it('keeps what a block printed before its interpreter was killed', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: 'import os\nprint("before the kill", flush=True)\nos.kill(os.getpid(), 9)',
      },
    ]);
    expect(result.exitCode).toBe(137);
    expect(result.output).toContain('before the kill\n');
    expect(result.output).toContain('The Python interpreter exited');
  });
});

/** A control plane that forwards to the real server but renames every sandbox `<prefix><real id>`. */
async function startRenamingEndpoint(prefix: string): Promise<{ baseURL: string; close(): Promise<void> }> {
  const target = new URL(server.baseURL);
  const realId = new Map<string, string>();
  const forward = (method: string, path: string, body: string): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method,
          path,
          headers: { 'content-type': 'application/json', 'x-api-key': server.apiKey },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 500, json: text ? JSON.parse(text) : {} }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  const readBody = async (request: IncomingMessage) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    return text;
  };
  const hostile: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    const path = request.url ?? '/';
    let answer: { status: number; json: unknown };
    if (request.method === 'POST' && path === '/v1/sandboxes') {
      answer = await forward('POST', path, body);
      const created = answer.json as { id: string };
      realId.set(`${prefix}${created.id}`, created.id);
      created.id = `${prefix}${created.id}`;
    } else {
      // Whatever path the client made of the hostile id, it is about the last sandbox created.
      const [hostileId, id] = [...realId.entries()].at(-1) ?? ['', ''];
      answer = await forward(
        request.method ?? 'GET',
        `/v1/sandboxes/${id}${path.endsWith('/timeout') ? '/timeout' : ''}`,
        body,
      );
      if (answer.json && typeof answer.json === 'object') (answer.json as { id?: string }).id = hostileId;
    }
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.json));
  });
  hostile.listen(0, '127.0.0.1');
  await once(hostile, 'listening');
  return {
    baseURL: `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => hostile.close(() => resolve())),
  };
}

describe('a hostile control plane', () => {
  it('refuses a sandbox id that would move saved images out of outputDir, and writes nothing', async () => {
    const outputDir = join(workDirectory, 'a', 'b', 'images');
    const endpoint = await startRenamingEndpoint('/../../../');
    try {
      const executor = pool.create({ baseURL: endpoint.baseURL, outputDir });
      const run = executor.executeCodeBlocks([
        {
          language: 'python',
          code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()',
        },
      ]);
      await expect(run).rejects.toThrow(SandboxUnavailableError);
      await expect(run).rejects.toThrow(/returned the sandbox id "\/\.\.\/\.\.\/\.\.\/.*not a plain name/);
      const written = await readdir(workDirectory, { recursive: true });
      expect(written.filter((name) => name.endsWith('.png'))).toEqual([]);
    } finally {
      await endpoint.close();
    }
  }, 60_000);
});

/** Starts `hopgen-sandbox` in a child process; resolves with its address once it listens. */
async function startServerProcess(apiKey: string): Promise<{ child: ChildProcess; baseURL: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliSource, '--port', '0', '--quiet'], {
    cwd: repositoryRoot,
    env: { ...process.env, HOPGEN_SANDBOX_API_KEY: apiKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const baseURL = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /HOPX_BASE_URL=(\S+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`hopgen-sandbox exited (${code}) before listening`)));
  });
  return { child, baseURL };
}

/** Runs `body` against a `hopgen-sandbox` child process it may stop with SIGSTOP; the process is resumed and ended however `body` ends. */
async function withServerProcess(
  apiKey: string,
  body: (server: { child: ChildProcess; baseURL: string }) => Promise<void>,
): Promise<void> {
  const server = await startServerProcess(apiKey);
  try {
    await body(server);
  } finally {
    server.child.kill('SIGCONT');
    server.child.kill('SIGTERM');
    if (server.child.exitCode === null) await once(server.child, 'exit');
  }
}

describe('a stopped server', () => {
  it('ends a call within the bound its options give, after the server was stopped mid-block', async () => {
    const apiKey = 'stopped-server-test-key';
    await withServerProcess(apiKey, async ({ child, baseURL }) => {
      const timeoutMs = 3000;
      const requestTimeoutMs = 2000;
      const maxRetries = 1;
      const executor = pool.create({
        apiKey,
        baseURL,
        timeoutMs,
        requestTimeoutMs,
        maxRetries,
        stateful: false,
      });
      await executor.executeCodeBlocks([{ language: 'bash', code: 'echo warm' }]);
      const sandboxId = executor.sandboxId;
      const startedAt = performance.now();
      const run = executor.executeCodeBlocks([
        { language: 'bash', code: 'touch /workspace/started; sleep 2; echo finished' },
      ]);
      run.catch(() => {});
      // Stopped once the block is known to run.
      for (;;) {
        const response = await fetch(
          `${baseURL}/sandboxes/${sandboxId}/files/exists?path=/workspace/started`,
          {
            headers: { authorization: `Bearer ${apiKey}` },
          },
        );
        if (((await response.json()) as { exists?: boolean }).exists) break;
      }
      child.kill('SIGSTOP');
      await expect(run).rejects.toThrow(SandboxUnavailableError);
      const elapsedMs = performance.now() - startedAt;
      // The documented bound: (maxRetries + 1) × (ceil(timeoutMs) + 10 s + 6 × requestTimeoutMs) + requestTimeoutMs.
      const boundMs = (maxRetries + 1) * (timeoutMs + 10_000 + 6 * requestTimeoutMs) + requestTimeoutMs;
      expect(elapsedMs).toBeLessThan(boundMs);
      // close() is bounded the same way, with the server still stopped.
      await executor.close();
    });
  }, 120_000);
});

// Timers fire a little late on a loaded machine: a bound is checked with this much slack.
const TIMER_SLACK_MS = 500;

/** How long `call` took to fail, milliseconds; fails the test if it succeeded or threw anything but an executor error. */
async function failureTime(call: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await expect(call()).rejects.toThrow(HopXExecutorError);
  return performance.now() - startedAt;
}

/** Every file call of the executor, each against its own path. */
function fileCalls(executor: HopXCodeExecutor, localFile: string): [string, () => Promise<unknown>][] {
  return [
    ['readFile', () => executor.readFile('/workspace/kept.txt')],
    ['writeFile', () => executor.writeFile('/workspace/new.txt', 'text')],
    ['listFiles', () => executor.listFiles('/workspace')],
    ['downloadFile', () => executor.downloadFile('/workspace/kept.txt')],
    ['uploadFile', () => executor.uploadFile(localFile, '/workspace/uploaded.txt')],
  ];
}

describe('file calls against a server that does not answer', () => {
  it('end within 4 × requestTimeoutMs each, and check() within requestTimeoutMs, after the server was stopped', async () => {
    const apiKey = 'stopped-server-files-key';
    const localFile = join(workDirectory, 'upload.txt');
    await writeFile(localFile, 'uploaded');
    await withServerProcess(apiKey, async ({ child, baseURL }) => {
      const requestTimeoutMs = 1000;
      const executor = pool.create({ apiKey, baseURL, requestTimeoutMs, stateful: false });
      await executor.writeFile('/workspace/kept.txt', 'kept');
      child.kill('SIGSTOP');
      // The first call finds the sandbox unanswering, asks whether it is alive and gives it up...
      const startedAt = performance.now();
      const first = executor.readFile('/workspace/kept.txt');
      await expect(first).rejects.toThrow(SandboxFileError);
      await expect(first).rejects.toThrow(/did not answer within 1000 ms \(requestTimeoutMs\)/);
      const elapsed: Record<string, number> = { 'first readFile': performance.now() - startedAt };
      // ...so the next ones fail to create a new one.
      await expect(executor.readFile('/workspace/kept.txt')).rejects.toThrow(/did not create a sandbox/);
      for (const [name, call] of fileCalls(executor, localFile)) elapsed[name] = await failureTime(call);
      elapsed.check = await failureTime(() => executor.check());
      // The documented bounds: a file call creates the sandbox if needed, makes its request, and on a
      // failure asks whether the sandbox is alive and kills it, each bounded by requestTimeoutMs.
      for (const [name, milliseconds] of Object.entries(elapsed)) {
        const boundMs = name === 'check' ? requestTimeoutMs : 4 * requestTimeoutMs;
        expect(milliseconds, name).toBeLessThan(boundMs + TIMER_SLACK_MS);
      }
      await executor.close();
    });
  }, 120_000);

  it('end within their bounds against a server that accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer(() => {});
    silent.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const baseURL = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const localFile = join(workDirectory, 'upload-silent.txt');
    await writeFile(localFile, 'uploaded');
    try {
      const requestTimeoutMs = 1000;
      const executor = pool.create({ apiKey: 'silent-server-key', baseURL, requestTimeoutMs, maxRetries: 0 });
      expect(await failureTime(() => executor.check())).toBeLessThan(requestTimeoutMs + TIMER_SLACK_MS);
      for (const [name, call] of fileCalls(executor, localFile)) {
        // No sandbox can be created: each call fails after the create's own bound.
        const milliseconds = await failureTime(call);
        expect(milliseconds, name).toBeLessThan(4 * requestTimeoutMs + TIMER_SLACK_MS);
      }
      await expect(executor.listFiles('/workspace')).rejects.toThrow(
        /did not create a sandbox within 1000 ms \(requestTimeoutMs\)/,
      );
      await executor.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);
});
