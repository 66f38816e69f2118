import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpHttpServerOptions, McpStdioServerOptions } from '@hopgen/mcp';

/** The repository root: child processes run there so `--import tsx` resolves. */
export const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const serverScript = fileURLToPath(new URL('./test-mcp-server.ts', import.meta.url));

/** A temporary file where the test server records every side effect, one line each. */
export interface RecordFile {
  path: string;
  /** The recorded lines, without the process id prefix. */
  lines(): string[];
  /** The recorded lines with the process id that wrote them. */
  entries(): { pid: number; line: string }[];
  remove(): void;
}

/** A fresh, empty record file. */
export function recordFile(): RecordFile {
  const directory = mkdtempSync(path.join(tmpdir(), 'hopgen-mcp-test-'));
  const file = path.join(directory, 'record.log');
  const entries = () => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((entry) => {
        const space = entry.indexOf(' ');
        return { pid: Number(entry.slice(0, space)), line: entry.slice(space + 1) };
      });
  };
  return {
    path: file,
    entries,
    lines: () => entries().map((entry) => entry.line),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** Options that start the test server over stdio. */
export function stdioServer(
  name: string,
  record: RecordFile,
  extra: Partial<McpStdioServerOptions> = {},
): McpStdioServerOptions {
  return {
    name,
    command: process.execPath,
    args: ['--import', 'tsx', serverScript, 'stdio'],
    cwd: repositoryRoot,
    env: { TEST_MCP_RECORD_FILE: record.path },
    stderr: 'ignore',
    ...extra,
  };
}

/** The test server running over streamable HTTP as a child process. */
export interface HttpTestServer {
  port: number;
  token: string;
  child: ChildProcess;
  /** Connection options with the token (or without, to test refusal). */
  options(name: string, extra?: Partial<McpHttpServerOptions>): McpHttpServerOptions;
  /** SIGKILLs the server and waits until the process is gone. */
  kill(): Promise<void>;
}

/** Starts the test server over HTTP on 127.0.0.1 and waits until it listens. */
export async function startHttpServer(
  record: RecordFile,
  port = 0,
  token = 'test-token-1234',
): Promise<HttpTestServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript, 'http', String(port)], {
    cwd: repositoryRoot,
    env: { ...process.env, TEST_MCP_RECORD_FILE: record.path, TEST_MCP_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listening = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`test MCP server exited with ${code} before listening`)));
  });
  return {
    port: listening,
    token,
    child,
    options: (name, extra = {}) => ({
      name,
      url: `http://127.0.0.1:${listening}/mcp`,
      headers: { Authorization: `Bearer ${token}` },
      ...extra,
    }),
    kill: () => killAndWait(child),
  };
}

/** SIGKILLs `child` and resolves once it has exited. */
export function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Whether a process with this id is alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `condition` holds, polling every 20 ms, or rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
