import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandboxUnavailableError } from '../src/index.js';
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

describe('a stopped server', () => {
  it('ends a call within the bound its options give, after the server was stopped mid-block', async () => {
    const apiKey = 'stopped-server-test-key';
    const { child, baseURL } = await startServerProcess(apiKey);
    try {
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
      // The documented bound: (maxRetries + 1) × (ceil(timeoutMs) + 10 s + 5 × requestTimeoutMs) + requestTimeoutMs.
      const boundMs = (maxRetries + 1) * (timeoutMs + 10_000 + 5 * requestTimeoutMs) + requestTimeoutMs;
      expect(elapsedMs).toBeLessThan(boundMs);
      // close() is bounded the same way, with the server still stopped.
      await executor.close();
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }, 120_000);
});
