import { InvalidOptionError } from '../errors.js';

/** Letters, digits, `_` and `-`: the characters OpenAI accepts in a function name. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

/** The longest function name OpenAI accepts. */
export const TOOL_NAME_MAX_LENGTH = 64;

/**
 * A tool name as the model sent it, made safe the way AutoGen does
 * (`re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]`), so `multi_tool_call.echo` becomes `multi_tool_call_echo`.
 */
export function normalizeToolName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, TOOL_NAME_MAX_LENGTH);
}

/** Throws {@link InvalidOptionError} naming the fix when `name` is not a valid OpenAI function name. */
export function assertValidToolName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionError(
      'A tool needs a non-empty `name` made of letters, digits, `_` and `-` (at most 64 characters).',
    );
  }
  if (!TOOL_NAME_PATTERN.test(name) || name.length > TOOL_NAME_MAX_LENGTH) {
    throw new InvalidOptionError(
      `Invalid tool name ${JSON.stringify(name)}: use only letters, digits, \`_\` and \`-\`, at most ${TOOL_NAME_MAX_LENGTH} characters (for example ${JSON.stringify(normalizeToolName(name) || 'my_tool')}).`,
    );
  }
}
