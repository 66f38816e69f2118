/** Options shared by every kind of MCP server connection. */
export interface McpServerCommonOptions {
  /** Names the server in errors, events and, with `prefixToolNames`, in tool names. */
  name: string;
  /** Offer only these tools (MCP names); a name the server does not have is an error at connect time. @default every tool */
  allowedTools?: readonly string[];
  /** Never offer these tools (MCP names). @default [] */
  blockedTools?: readonly string[];
  /**
   * Name each tool `<name>_<tool>`, so two servers with a tool of the same name can serve one agent.
   * @default false
   */
  prefixToolNames?: boolean;
  /** Longest one tool call may take, in milliseconds; a slower call is answered with an error. @default 60_000 */
  callTimeoutMs?: number;
  /** Longest connecting (start, handshake and tool list) may take, in milliseconds. @default 30_000 */
  connectTimeoutMs?: number;
}

/** A server started as a child process and spoken to over its stdin and stdout. */
export interface McpStdioServerOptions extends McpServerCommonOptions {
  /** The program to run, for example `node` or `npx`. */
  command: string;
  /** Its arguments. @default [] */
  args?: readonly string[];
  /**
   * Extra environment variables for the server. It does not inherit this process's environment,
   * only PATH, HOME and a few other harmless variables, so secrets reach it only when given here.
   * @default {}
   */
  env?: Record<string, string>;
  /** Working directory of the server. @default this process's working directory */
  cwd?: string;
  /** Where the server's standard error goes. @default 'inherit' */
  stderr?: 'inherit' | 'ignore' | 'pipe';
}

/** A server reached over MCP's streamable HTTP transport. */
export interface McpHttpServerOptions extends McpServerCommonOptions {
  /** The server's MCP endpoint, for example `http://127.0.0.1:3000/mcp`. */
  url: string | URL;
  /** Headers sent with every request, for example `{ Authorization: 'Bearer ...' }`. @default {} */
  headers?: Record<string, string>;
}

/** Where an MCP server is and how to reach it: a command (stdio) or a URL (streamable HTTP). */
export type McpServerOptions = McpStdioServerOptions | McpHttpServerOptions;

/** The default of `callTimeoutMs`, in milliseconds. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** The default of `connectTimeoutMs`, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** True when `options` describe a server started as a child process. */
export function isStdioServer(options: McpServerOptions): options is McpStdioServerOptions {
  return typeof (options as McpStdioServerOptions).command === 'string';
}
