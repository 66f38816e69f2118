import { HopgenError } from '@hopgen/agents';

/** Root of every error that `@hopgen/mcp` throws on purpose; a {@link HopgenError}, so one catch covers hopgen. */
export class HopgenMcpError extends HopgenError {}

/** Options given to `connectMcpServer` or the sandbox MCP server are wrong; the message names the option and the fix. */
export class InvalidMcpOptionError extends HopgenMcpError {}

/**
 * An MCP server cannot be reached, or it went away during a call. Only that server's tools fail;
 * the connection tries again at the next call.
 */
export class McpServerUnavailableError extends HopgenMcpError {}

/** The connection was closed with `close()`; connect again to use the server's tools. */
export class McpConnectionClosedError extends HopgenMcpError {}

/** An MCP tool answered with `isError: true`; the message is the server's own text, for the model. */
export class McpToolCallError extends HopgenMcpError {}
