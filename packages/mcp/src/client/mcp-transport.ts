import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { InvalidMcpOptionError } from '../errors.js';
import { isStdioServer, type McpServerOptions } from './mcp-server-options.js';

/** A fresh transport to the server: each (re)connection needs its own, since a transport starts once. */
export function createTransport(options: McpServerOptions): Transport {
  if (isStdioServer(options)) {
    return new StdioClientTransport({
      command: options.command,
      args: [...(options.args ?? [])],
      // The SDK's default environment keeps PATH, HOME and the like, never this process's secrets.
      env: { ...getDefaultEnvironment(), ...options.env },
      stderr: options.stderr ?? 'inherit',
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
  }
  return new StreamableHTTPClientTransport(endpointUrl(options.name, options.url), {
    requestInit: { headers: { ...options.headers } },
    // Reconnection is ours (a new session at the next call), so the SDK's stream retries stay short.
    reconnectionOptions: {
      maxReconnectionDelay: 1_000,
      initialReconnectionDelay: 200,
      reconnectionDelayGrowFactor: 2,
      maxRetries: 1,
    },
  });
}

/** The process id of a stdio server, for tests and diagnostics; `null` for HTTP servers. */
export function transportProcessId(transport: Transport): number | null {
  return transport instanceof StdioClientTransport ? transport.pid : null;
}

function endpointUrl(name: string, url: string | URL): URL {
  try {
    return new URL(url);
  } catch {
    throw new InvalidMcpOptionError(
      `MCP server ${JSON.stringify(name)}: \`url\` ${JSON.stringify(String(url))} is not a URL. Give the full endpoint, for example 'http://127.0.0.1:3000/mcp'.`,
    );
  }
}
