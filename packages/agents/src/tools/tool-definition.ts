import { z } from 'zod';
import { InvalidOptionError } from '../errors.js';
import { assertValidToolName } from './tool-name.js';
import type { Tool, ToolDefinition } from './tool-types.js';

/** True when `value` is already an OpenAI function-tool definition rather than a typed {@link Tool}. */
export function isToolDefinition(value: Tool | ToolDefinition): value is ToolDefinition {
  return (
    (value as ToolDefinition).type === 'function' && typeof (value as ToolDefinition).function === 'object'
  );
}

/** True when `value` is a typed {@link Tool} (it has a zod schema and an `execute` function). */
export function isTool(value: unknown): value is Tool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Tool).execute === 'function' &&
    typeof (value as Tool).name === 'string'
  );
}

/**
 * The definition the model sees for a tool: OpenAI's `{ type: 'function', function: { name, description,
 * parameters } }` with the JSON schema of the tool's zod schema. A ready definition is validated and copied.
 * Throws `InvalidOptionError` when the name is not `^[a-zA-Z0-9_-]+$` (at most 64 characters) or the schema
 * cannot be expressed in JSON schema.
 */
export function toolDefinition(tool: Tool | ToolDefinition): ToolDefinition {
  if (isToolDefinition(tool)) {
    assertValidToolName(tool.function.name);
    return structuredClone(tool);
  }
  assertValidToolName(tool.name);
  if (typeof tool.description !== 'string' || tool.description.trim() === '') {
    // AutoGen: "Function description is required, none found."
    throw new InvalidOptionError(
      `Function description is required, none found. Give tool ${JSON.stringify(tool.name)} a \`description\` saying what it does, for the model.`,
    );
  }
  if (tool.inputJsonSchema !== undefined) {
    return {
      type: 'function',
      function: {
        name: tool.name,
        description: tool.description,
        parameters: structuredClone(tool.inputJsonSchema),
      },
    };
  }
  let parameters: Record<string, unknown>;
  try {
    // `io: 'input'` so fields with a default are optional for the model, as they are for the parser.
    parameters = z.toJSONSchema(tool.parameters, { io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidOptionError(
      `The parameters of tool ${JSON.stringify(tool.name)} cannot be turned into JSON schema (${(error as Error).message}). Use JSON-compatible zod types (objects, strings, numbers, booleans, arrays, enums).`,
      { cause: error },
    );
  }
  delete parameters['$schema'];
  if (parameters['type'] !== 'object') {
    throw new InvalidOptionError(
      `The parameters of tool ${JSON.stringify(tool.name)} must be a zod object schema (z.object({...})), because the model sends its arguments as one JSON object.`,
    );
  }
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters } };
}
