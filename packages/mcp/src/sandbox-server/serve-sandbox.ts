import { randomBytes } from 'node:crypto';
import { HopXCodeExecutor, type HopXCodeExecutorOptions } from '@hopgen/executors-hopx';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { InvalidMcpOptionError } from '../errors.js';
import {
  type SandboxHttpServer,
  type SandboxSession,
  startSandboxHttpServer,
} from './sandbox-http-server.js';
import { createSandboxMcpServer } from './sandbox-tools.js';

/** The environment variable that gives the HTTP transport a fixed token (never a command-line flag). */
export const SANDBOX_MCP_TOKEN_VARIABLE = 'HOPGEN_SANDBOX_MCP_TOKEN';

/** Options of {@link serveSandboxOverMcp}. */
export interface ServeSandboxOptions {
  /** `stdio` serves one client on this process's stdin and stdout; `http` serves MCP's streamable HTTP. @default 'stdio' */
  transport?: 'stdio' | 'http';
  /** How each session's sandbox is made: `baseURL` and `apiKey` of a HopX or local sandbox server, limits, languages. */
  executor: HopXCodeExecutorOptions;
  /** HTTP only: interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** HTTP only: TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** HTTP only: the bearer token clients must send. @default process.env.HOPGEN_SANDBOX_MCP_TOKEN, else a random one */
  token?: string;
}

/** A sandbox being served over MCP. */
export interface ServedSandbox {
  /** HTTP only: the MCP endpoint. */
  url?: string;
  /** HTTP only: the bearer token clients must send. */
  token?: string;
  /** Resolves when the stdio client hangs up (never for HTTP before `close()`). */
  closed: Promise<void>;
  /** Stops serving and closes every sandbox. */
  close(): Promise<void>;
}

/**
 * Offers a sandbox as MCP tools (run_code, read_file, write_file, list_files, download_image), so any
 * MCP client gets an isolated code interpreter. Each client (each HTTP session) gets its own sandbox.
 */
export async function serveSandboxOverMcp(options: ServeSandboxOptions): Promise<ServedSandbox> {
  const transport = options.transport ?? 'stdio';
  if (transport !== 'stdio' && transport !== 'http') {
    throw new InvalidMcpOptionError(
      `Unknown MCP transport ${JSON.stringify(transport)}: use 'stdio' or 'http'.`,
    );
  }
  return transport === 'stdio' ? serveStdio(options) : serveHttp(options);
}

function newSession(options: ServeSandboxOptions): SandboxSession {
  const executor = new HopXCodeExecutor(options.executor);
  let closing: Promise<void> | undefined;
  return {
    server: createSandboxMcpServer(executor),
    close: () => {
      closing ??= executor.close();
      return closing;
    },
  };
}

async function serveStdio(options: ServeSandboxOptions): Promise<ServedSandbox> {
  const session = newSession(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    // The client hanging up ends stdin; the SDK's stdio server does not notice that on its own.
    process.stdin.once('end', () => resolve());
  });
  await session.server.connect(transport);
  const close = async () => {
    await session.server.close();
    await session.close();
  };
  return { closed: closed.then(close), close };
}

async function serveHttp(options: ServeSandboxOptions): Promise<ServedSandbox> {
  const token =
    options.token ?? process.env[SANDBOX_MCP_TOKEN_VARIABLE] ?? randomBytes(24).toString('base64url');
  let server: SandboxHttpServer | undefined;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  server = await startSandboxHttpServer({
    token,
    createSession: () => newSession(options),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  return {
    url: server.url,
    token,
    closed,
    close: async () => {
      await server?.close();
      server = undefined;
      resolveClosed();
    },
  };
}
