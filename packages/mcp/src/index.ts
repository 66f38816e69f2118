export type {
  McpConnectionLostEvent,
  McpConnectionRestoredEvent,
  McpServerConnectionEvents,
} from './client/mcp-connection-events.js';
export { connectMcpServer, McpServerConnection } from './client/mcp-server-connection.js';
export type {
  McpHttpServerOptions,
  McpServerCommonOptions,
  McpServerOptions,
  McpStdioServerOptions,
} from './client/mcp-server-options.js';
export type { McpTool } from './client/mcp-tools.js';
export {
  HopgenMcpError,
  InvalidMcpOptionError,
  McpConnectionClosedError,
  McpServerUnavailableError,
  McpToolCallError,
} from './errors.js';
export { createSandboxMcpServer, type SandboxToolsExecutor } from './sandbox-server/sandbox-tools.js';
export {
  SANDBOX_MCP_TOKEN_VARIABLE,
  type ServedSandbox,
  type ServeSandboxOptions,
  serveSandboxOverMcp,
} from './sandbox-server/serve-sandbox.js';
