import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { HopXCodeExecutor, type HopXCodeExecutorOptions } from '../../src/index.js';

/** A running `@hopgen/local-sandbox` server on 127.0.0.1. */
export interface TestServer {
  baseURL: string;
  apiKey: string;
  close(): Promise<void>;
}

/** Isolation for the test server: bubblewrap unless HOPGEN_TEST_ISOLATION says otherwise. */
const isolation = (process.env.HOPGEN_TEST_ISOLATION ?? 'bubblewrap') as 'bubblewrap' | 'none';

/** Starts the local HopX-compatible server on a free port. */
export async function startTestServer(): Promise<TestServer> {
  return startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize: 1, isolation });
}

/** Ids of the sandboxes still alive on the server, asked through the real SDK. */
export async function liveSandboxIds(server: TestServer): Promise<string[]> {
  const sandboxes = await Sandbox.list({ apiKey: server.apiKey, baseURL: server.baseURL });
  const ids: string[] = [];
  for (const sandbox of sandboxes) {
    const info = await sandbox.getInfo().catch(() => undefined);
    if (
      info === undefined ||
      info.status === 'running' ||
      info.status === 'paused' ||
      info.status === 'creating'
    ) {
      ids.push(sandbox.sandboxId);
    }
  }
  return ids;
}

/** Makes executors for one test file and closes all of them after each test. */
export class ExecutorPool {
  readonly #executors: HopXCodeExecutor[] = [];

  constructor(readonly defaults: () => HopXCodeExecutorOptions) {}

  /** A new executor with the file's defaults plus `options`. */
  create(options: HopXCodeExecutorOptions = {}): HopXCodeExecutor {
    const executor = new HopXCodeExecutor({ ...this.defaults(), ...options });
    this.#executors.push(executor);
    return executor;
  }

  /** Closes every executor made so far. */
  async closeAll(): Promise<void> {
    const executors = this.#executors.splice(0);
    await Promise.all(executors.map((executor) => executor.close()));
  }
}

/**
 * Starts one test server for the calling test file and an {@link ExecutorPool} on it: every test's
 * executors are closed after it, which must leave no sandbox alive, and the server stops at the end.
 */
export function useTestServerPool(): ExecutorPool {
  let server: TestServer | undefined;
  const pool = new ExecutorPool(() => ({ apiKey: server!.apiKey, baseURL: server!.baseURL }));
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await pool.closeAll();
    expect(await liveSandboxIds(server!)).toEqual([]);
  });
  afterAll(async () => {
    await server?.close();
  });
  return pool;
}

/** Both ways the executor runs Python, for `describe.each`: the persistent interpreter and fresh processes. */
export const PYTHON_MODES = [
  { mode: 'stateful', stateful: true },
  { mode: 'stateless', stateful: false },
] as const;
