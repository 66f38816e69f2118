import type { z } from 'zod';
import { errorMessage } from '../error-message.js';
import type { Message, ToolCall } from '../message.js';
import { traceToolCall } from '../telemetry/spans.js';
import { formatZodIssues } from '../zod-issues.js';
import { isTool } from './tool-definition.js';
import { normalizeToolName } from './tool-name.js';
import type { FunctionMapEntry } from './tool-types.js';

/**
 * Runs the tool calls of one assistant message and returns AutoGen's reply:
 * `{ role: 'tool', content: <answers joined by "\n\n">, tool_responses: [{ role: 'tool', tool_call_id, content }] }`.
 * Calls run concurrently. Every failure (unknown function, bad JSON, invalid arguments, a thrown error)
 * becomes an `Error: ...` answer for the model; this function never rejects because of a tool.
 */
export async function executeToolCalls(
  functionMap: ReadonlyMap<string, FunctionMapEntry>,
  toolCalls: ToolCall[],
): Promise<Message> {
  const toolResponses = await Promise.all(
    toolCalls.map(async (call): Promise<Message> => {
      const content = await traceToolCall(call, () =>
        executeFunction(functionMap, call.function?.name ?? '', call.function?.arguments),
      );
      const response: Message = { role: 'tool', content };
      // AutoGen leaves the key out when the model gave no id.
      if (call.id) response.tool_call_id = call.id;
      return response;
    }),
  );
  return {
    role: 'tool',
    content: toolResponses.map((response) => response.content as string).join('\n\n'),
    tool_responses: toolResponses,
  };
}

/**
 * Runs one function call by name with its JSON arguments text and returns the answer for the model
 * (AutoGen's `execute_function` content). Never throws.
 */
export async function executeFunction(
  functionMap: ReadonlyMap<string, FunctionMapEntry>,
  name: string,
  argumentsText: string | undefined,
): Promise<string> {
  const entry = functionMap.get(name) ?? functionMap.get(normalizeToolName(name));
  if (entry === undefined) return `Error: Function ${normalizeToolName(name)} not found.`;

  let args: unknown;
  try {
    // Deliberate deviation: an empty arguments string means "no arguments" (several local servers send "").
    const text = argumentsText === undefined || argumentsText.trim() === '' ? '{}' : argumentsText;
    args = JSON.parse(formatJsonString(text));
  } catch (error) {
    return `Error: ${errorMessage(error)}\n The argument must be in JSON format.`;
  }

  try {
    if (isTool(entry)) {
      const parsed = await (entry.parameters as z.ZodType).safeParseAsync(args);
      if (!parsed.success) return `Error: ${describeIssues(entry.name, parsed.error.issues)}`;
      return serializeResult(await entry.execute(parsed.data));
    }
    return serializeResult(await entry(args));
  } catch (error) {
    return `Error: ${errorMessage(error)}`;
  }
}

/** A tool's result as the model receives it: a string as it is, anything else as JSON. */
export function serializeResult(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined) return 'null';
  try {
    const json = JSON.stringify(result);
    return json === undefined ? String(result) : json;
  } catch {
    return String(result);
  }
}

/**
 * AutoGen's `_format_json_str`: models often put raw newlines in JSON. Newlines outside strings are
 * dropped; newlines and tabs inside strings are escaped.
 */
export function formatJsonString(text: string): string {
  let result = '';
  let insideQuotes = false;
  let lastChar = ' ';
  for (const char of text) {
    if (lastChar !== '\\' && char === '"') insideQuotes = !insideQuotes;
    lastChar = char;
    if (!insideQuotes && char === '\n') continue;
    if (insideQuotes && char === '\n') result += '\\n';
    else if (insideQuotes && char === '\t') result += '\\t';
    else result += char;
  }
  return result;
}

function describeIssues(name: string, issues: readonly z.core.$ZodIssue[]): string {
  return `Invalid arguments for function ${name}:\n${formatZodIssues(issues, '(arguments)')}`;
}
