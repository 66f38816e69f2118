import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '@hopgen/agents/internal';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** One MCP session's server and what to release when the session ends. */
export interface SandboxSession {
  server: McpServer;
  /** Releases the session's sandbox. */
  close(): Promise<void>;
}

/** Options of {@link startSandboxHttpServer}. */
export interface SandboxHttpServerOptions {
  /** Interface to listen on; anything but loopback offers code execution to the network. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** The token clients must send as `Authorization: Bearer <token>`. */
  token: string;
  /** Makes the server (and sandbox) of a new MCP session. */
  createSession(): SandboxSession;
}

/** A running sandbox MCP server on streamable HTTP. */
export interface SandboxHttpServer {
  /** The MCP endpoint, for example `http://127.0.0.1:7071/mcp`. */
  url: string;
  /** Ends every session (and its sandbox) and stops listening. */
  close(): Promise<void>;
}

/**
 * Serves MCP's streamable HTTP transport at `/mcp`, with one MCP session (and one sandbox) per client.
 * Every request needs the token, and the Host header must name this server (against DNS rebinding).
 */
export async function startSandboxHttpServer(options: SandboxHttpServerOptions): Promise<SandboxHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; session: SandboxSession }>();
  const expected = Buffer.from(`Bearer ${options.token}`);
  let allowedHosts: string[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      sendError(response, 401, 'Send the token as `Authorization: Bearer <token>`.');
      return;
    }
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/mcp') {
      sendError(response, 404, 'The MCP endpoint is /mcp.');
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const known = sessions.get(sessionId);
      if (known === undefined) sendError(response, 404, 'Session not found', -32001);
      else await known.transport.handleRequest(request, response);
      return;
    }
    const session = options.createSession();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, session });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      void session.close();
    };
    await session.server.connect(transport);
    await transport.handleRequest(request, response);
    // A request that did not open a session (not an initialize) leaves nothing behind.
    if (transport.sessionId === undefined) await session.server.close();
  };

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, errorMessage(error));
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const authority = host.includes(':') ? `[${host}]` : host;
  allowedHosts = [`${authority}:${port}`, `localhost:${port}`];
  return {
    url: `http://${authority}:${port}/mcp`,
    close: async () => {
      await Promise.all(
        [...sessions.values()].map(async ({ session }) => {
          await session.server.close();
          await session.close();
        }),
      );
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };
}

function sendError(response: ServerResponse, status: number, message: string, code = -32000): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
