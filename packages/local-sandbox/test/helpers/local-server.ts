import { type LocalSandboxServerOptions, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { expect } from 'vitest';

/** Isolation used by the tests; `HOPGEN_TEST_ISOLATION=none` only where bubblewrap is unavailable. */
export const TEST_ISOLATION =
  (process.env.HOPGEN_TEST_ISOLATION as 'bubblewrap' | 'none' | undefined) ?? 'bubblewrap';

/** A started server plus the SDK options that point at it. */
export interface TestServer {
  baseURL: string;
  apiKey: string;
  close(): Promise<void>;
  poolsReady(): Promise<void>;
  /** Creates a sandbox through the SDK. */
  create(options?: Parameters<typeof Sandbox.create>[0]): Promise<Sandbox>;
}

/** Starts a server on 127.0.0.1 with the test isolation backend. */
export async function startTestServer(options: LocalSandboxServerOptions = {}): Promise<TestServer> {
  const server = await startLocalSandboxServer({ isolation: TEST_ISOLATION, ...options });
  return {
    ...server,
    create: (createOptions) =>
      Sandbox.create({
        template: 'code-interpreter',
        apiKey: server.apiKey,
        baseURL: server.baseURL,
        ...(createOptions ?? {}),
      }),
  };
}

/** Asserts through the SDK that no sandbox is alive, then stops the server. */
export async function expectNoSandboxesAndClose(server: TestServer): Promise<void> {
  const alive = await Sandbox.list({ apiKey: server.apiKey, baseURL: server.baseURL });
  await server.close();
  expect(alive.map((sandbox) => sandbox.sandboxId)).toEqual([]);
}
