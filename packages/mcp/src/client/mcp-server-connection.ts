import { registerFunction, type ToolCaller, type ToolExecutor } from '@hopgen/agents';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Tool as McpToolDescription,
} from '@modelcontextprotocol/sdk/types.js';
import { EventEmitter } from 'eventemitter3';
import { McpConnectionClosedError, McpServerUnavailableError, McpToolCallError } from '../errors.js';
import type { McpServerConnectionEvents } from './mcp-connection-events.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  isStdioServer,
  type McpServerOptions,
} from './mcp-server-options.js';
import { type McpTool, mcpTools } from './mcp-tools.js';
import { createTransport, transportProcessId } from './mcp-transport.js';
import { toolResultText } from './tool-result-text.js';

/** What this package calls itself in the MCP handshake. */
const CLIENT_INFO = { name: 'hopgen', version: '0.1.0' };

interface Session {
  client: Client;
  transport: Transport;
}

/**
 * One MCP server and the hopgen tools it offers. A server that dies fails only its own tools, with an
 * error the model can read; the next call starts (stdio) or re-opens (HTTP) it. `close()` ends it all.
 * Made by {@link connectMcpServer}.
 */
export class McpServerConnection extends EventEmitter<McpServerConnectionEvents> {
  /** The server's `name`. */
  readonly name: string;
  readonly #options: McpServerOptions;
  #tools: McpTool[] = [];
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  #closed = false;

  /** Use {@link connectMcpServer}, which also connects. */
  constructor(options: McpServerOptions) {
    super();
    this.name = options.name;
    this.#options = options;
  }

  /** The server's tools after `allowedTools` and `blockedTools`, ready for `registerFunction`. */
  get tools(): McpTool[] {
    return [...this.#tools];
  }

  /** Process id of the running stdio server, or `null` (HTTP server, or none running now). */
  get processId(): number | null {
    return this.#session === undefined ? null : transportProcessId(this.#session.transport);
  }

  /** Whether a session with the server is open now. */
  get connected(): boolean {
    return this.#session !== undefined;
  }

  /** Connects and lists the tools; `connectMcpServer` calls it. */
  async connect(): Promise<void> {
    const session = await this.#ensureSession();
    const listed = await this.#listTools(session);
    this.#tools = mcpTools(this.#options, listed, (mcpName, args) => this.callTool(mcpName, args));
  }

  /** Lets `caller`'s model call every tool of this server and `executor` run them. */
  registerTools(agents: { caller: ToolCaller; executor: ToolExecutor }): void {
    for (const tool of this.#tools) registerFunction(tool, agents);
  }

  /**
   * Calls a tool by its MCP name and answers the text for the model. Throws {@link McpToolCallError}
   * when the tool reports an error and {@link McpServerUnavailableError} when the server cannot be reached.
   */
  async callTool(mcpName: string, args: Record<string, unknown>): Promise<string> {
    const result = await this.#callWithSession(mcpName, args);
    const text = toolResultText(result);
    if (result.isError) throw new McpToolCallError(text || `Tool ${mcpName} failed without saying why.`);
    return text;
  }

  /** Ends the session: a stdio server's process is stopped, an HTTP session is deleted. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const session = this.#session ?? (await this.#connecting?.catch(() => undefined));
    this.#session = undefined;
    if (session !== undefined) await closeSession(session);
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #callWithSession(mcpName: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const session = await this.#ensureSession();
    try {
      return await this.#request(session, mcpName, args);
    } catch (error) {
      if (!isUnknownSession(error)) throw this.#callFailure(session, mcpName, error);
      // The HTTP server restarted and forgot the session before running anything: safe to send again.
      this.#dropSession(session, 'the server no longer knew the session (it restarted)');
      const fresh = await this.#ensureSession();
      try {
        return await this.#request(fresh, mcpName, args);
      } catch (retryError) {
        throw this.#callFailure(fresh, mcpName, retryError);
      }
    }
  }

  async #request(session: Session, mcpName: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const timeout = this.#options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return (await session.client.callTool({ name: mcpName, arguments: args }, undefined, {
      timeout,
    })) as CallToolResult;
  }

  #callFailure(session: Session, mcpName: string, error: unknown): Error {
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return new McpServerUnavailableError(
        `Tool ${mcpName} of MCP server ${this.name} did not answer within ${this.#options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS} ms.`,
        { cause: error },
      );
    }
    if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) {
      // A protocol-level refusal (unknown tool, invalid params): the server's words are the best fix.
      return new McpToolCallError(error.message, { cause: error });
    }
    const lost = this.#session !== session || isConnectionFailure(error);
    if (lost) this.#dropSession(session, describe(error));
    return new McpServerUnavailableError(
      `MCP server ${this.name} went away during the call to ${mcpName} (${describe(error)}); the call may or may not have taken effect. Its tools reconnect at the next call.`,
      { cause: error },
    );
  }

  #ensureSession(): Promise<Session> {
    if (this.#closed) {
      return Promise.reject(
        new McpConnectionClosedError(
          `The connection to MCP server ${this.name} was closed with close(); connect again with connectMcpServer().`,
        ),
      );
    }
    if (this.#session !== undefined) return Promise.resolve(this.#session);
    this.#connecting ??= this.#openSession().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #openSession(): Promise<Session> {
    const reconnecting = this.#tools.length > 0;
    const transport = createTransport(this.#options);
    const client = new Client(CLIENT_INFO);
    const session: Session = { client, transport };
    try {
      await client.connect(transport, {
        timeout: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
    } catch (error) {
      await closeSession(session);
      throw new McpServerUnavailableError(
        `MCP server ${this.name} cannot be reached (${describe(error)}). ${this.#startHint()}`,
        { cause: error },
      );
    }
    if (this.#closed) {
      await closeSession(session);
      throw new McpConnectionClosedError(
        `The connection to MCP server ${this.name} was closed while it was opening.`,
      );
    }
    client.onclose = () => this.#dropSession(session, closeReason(this.#options));
    this.#session = session;
    if (reconnecting)
      this.emit('connection-restored', { server: this.name, processId: transportProcessId(transport) });
    return session;
  }

  #dropSession(session: Session, reason: string): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    session.client.onclose = undefined;
    void closeSession(session);
    if (!this.#closed) this.emit('connection-lost', { server: this.name, reason });
  }

  async #listTools(session: Session): Promise<McpToolDescription[]> {
    const tools: McpToolDescription[] = [];
    let cursor: string | undefined;
    do {
      const page = await session.client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  }

  #startHint(): string {
    return isStdioServer(this.#options)
      ? `Check that \`${[this.#options.command, ...(this.#options.args ?? [])].join(' ')}\` starts an MCP server on stdio.`
      : `Check that the server at ${String(this.#options.url)} is running and that \`headers\` carry its token.`;
  }
}

/**
 * Connects to an MCP server (a command for stdio, a `url` for streamable HTTP), lists its tools and
 * returns the connection; register its `tools` with agents like any hopgen tool.
 */
export async function connectMcpServer(options: McpServerOptions): Promise<McpServerConnection> {
  const connection = new McpServerConnection(options);
  try {
    await connection.connect();
  } catch (error) {
    await connection.close();
    throw error;
  }
  return connection;
}

async function closeSession({ client, transport }: Session): Promise<void> {
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
    // Tell the server to drop the session; one that is already gone cannot answer, which is fine.
    await transport.terminateSession().catch(() => undefined);
  }
  await client.close().catch(() => undefined);
}

function isUnknownSession(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code === 404;
}

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  return error instanceof TypeError || error instanceof StreamableHTTPError;
}

function closeReason(options: McpServerOptions): string {
  return isStdioServer(options) ? 'the server process exited' : 'the connection closed';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof StreamableHTTPError && typeof error.code === 'number') {
    return `HTTP ${error.code}: ${error.message}`;
  }
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message}: ${code}` : error.message;
}
