import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';

/** A local sandbox server started by the benchmark. */
export interface BenchServer {
  baseURL: string;
  apiKey: string;
  /** Resolves when the warm pool is full, so a timed create is not racing a refill. */
  poolsReady(): Promise<void>;
  /** Fails if the benchmark left a sandbox behind, then stops the server. */
  close(): Promise<void>;
}

/** Starts `@hopgen/local-sandbox` in this process on 127.0.0.1 with bubblewrap isolation. */
export async function startBenchServer(poolSize: number): Promise<BenchServer> {
  const server = await startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize });
  const credentials = { baseURL: server.baseURL, apiKey: server.apiKey };
  return {
    ...credentials,
    poolsReady: () => server.poolsReady(),
    async close() {
      let leftover: string[] = [];
      try {
        leftover = (await Sandbox.list(credentials)).map((sandbox) => sandbox.sandboxId);
      } finally {
        await server.close();
      }
      if (leftover.length > 0) {
        throw new Error(`the benchmark left ${leftover.length} sandbox(es) alive: ${leftover.join(', ')}`);
      }
    },
  };
}

/** Runs `body` against a fresh server and always closes the server afterwards. */
export async function withBenchServer<T>(
  poolSize: number,
  body: (server: BenchServer) => Promise<T>,
): Promise<T> {
  const server = await startBenchServer(poolSize);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}
