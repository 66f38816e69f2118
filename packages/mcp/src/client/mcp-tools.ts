import type { Tool } from '@hopgen/agents';
import { assertValidToolName, normalizeToolName, TOOL_NAME_MAX_LENGTH } from '@hopgen/agents/internal';
import type { Tool as McpToolDescription } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { InvalidMcpOptionError } from '../errors.js';
import type { McpServerCommonOptions } from './mcp-server-options.js';

/** Runs one MCP tool by its MCP name and answers the model's text. */
export type McpToolCaller = (mcpName: string, args: Record<string, unknown>) => Promise<string>;

/** A hopgen tool made from an MCP server's tool, with the MCP name it calls. */
export interface McpTool extends Tool {
  /** The tool's name on the MCP server (the hopgen `name` may be prefixed or made OpenAI-safe). */
  mcpName: string;
}

/**
 * The server's tools, filtered by `allowedTools` and `blockedTools`, as hopgen tools: the model sees each
 * tool's own JSON schema, and the arguments are validated against it before the call leaves this process.
 */
export function mcpTools(
  options: McpServerCommonOptions,
  listed: readonly McpToolDescription[],
  call: McpToolCaller,
): McpTool[] {
  const chosen = filterTools(options, listed);
  const tools = chosen.map((description) => mcpTool(options, description, call));
  const seen = new Map<string, string>();
  for (const tool of tools) {
    const other = seen.get(tool.name);
    if (other !== undefined) {
      throw new InvalidMcpOptionError(
        `MCP server ${JSON.stringify(options.name)}: tools ${JSON.stringify(other)} and ${JSON.stringify(tool.mcpName)} both become ${JSON.stringify(tool.name)} for the model. Leave one out with \`blockedTools\`.`,
      );
    }
    seen.set(tool.name, tool.mcpName);
  }
  return tools;
}

function filterTools(
  options: McpServerCommonOptions,
  listed: readonly McpToolDescription[],
): McpToolDescription[] {
  const names = new Set(listed.map((tool) => tool.name));
  for (const [option, wanted] of [
    ['allowedTools', options.allowedTools],
    ['blockedTools', options.blockedTools],
  ] as const) {
    const missing = (wanted ?? []).filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new InvalidMcpOptionError(
        `MCP server ${JSON.stringify(options.name)} has no tool ${missing.map((name) => JSON.stringify(name)).join(', ')} (named in \`${option}\`). Its tools: ${[...names].join(', ') || 'none'}.`,
      );
    }
  }
  const allowed = options.allowedTools === undefined ? undefined : new Set(options.allowedTools);
  const blocked = new Set(options.blockedTools ?? []);
  return listed.filter(
    (tool) => (allowed === undefined || allowed.has(tool.name)) && !blocked.has(tool.name),
  );
}

function mcpTool(
  options: McpServerCommonOptions,
  description: McpToolDescription,
  call: McpToolCaller,
): McpTool {
  const name = hopgenName(options, description.name);
  const inputJsonSchema = { ...description.inputSchema } as Record<string, unknown>;
  // The model gets the schema as the server wrote it, minus the draft marker OpenAI does not need.
  delete inputJsonSchema['$schema'];
  return {
    name,
    mcpName: description.name,
    description:
      description.description?.trim() ||
      description.title ||
      `Tool ${description.name} of MCP server ${options.name}.`,
    parameters: argumentsSchema(description),
    inputJsonSchema,
    execute: (args: Record<string, unknown>) => call(description.name, args),
  };
}

function hopgenName(options: McpServerCommonOptions, mcpName: string): string {
  const raw = options.prefixToolNames ? `${options.name}_${mcpName}` : mcpName;
  const name = normalizeToolName(raw);
  if (raw.length > TOOL_NAME_MAX_LENGTH) {
    throw new InvalidMcpOptionError(
      `MCP server ${JSON.stringify(options.name)}: the tool name ${JSON.stringify(raw)} is longer than the ${TOOL_NAME_MAX_LENGTH} characters a model accepts.${options.prefixToolNames ? ' Use a shorter server `name`, or leave `prefixToolNames` off.' : ' Leave it out with `blockedTools`.'}`,
    );
  }
  assertValidToolName(name);
  return name;
}

/**
 * A zod validator for the tool's JSON schema, so a bad call is answered with readable issues before it
 * reaches the server. A schema zod cannot read is checked as an object only; the server still validates.
 */
function argumentsSchema(description: McpToolDescription): z.ZodType {
  try {
    return z.fromJSONSchema(description.inputSchema as z.core.JSONSchema.JSONSchema);
  } catch {
    return z.record(z.string(), z.unknown());
  }
}
