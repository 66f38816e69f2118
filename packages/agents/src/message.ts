import { z } from 'zod';
import { InvalidMessageError } from './errors.js';

/** A part of multimodal content, as in OpenAI's chat-completion API. */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } };

/** A tool call requested by the model, exactly as OpenAI sends it. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * One chat message. It stays an OpenAI chat-completion message object so a transcript
 * serializes as JSON and can be sent to the API as it is.
 */
export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'function';
  /** Text, multimodal parts, or null when the message only carries tool calls. */
  content: string | ContentPart[] | null;
  /** The speaker's agent name (for role `function`, the function name). */
  name?: string;
  /** Tool calls requested by an assistant message. */
  tool_calls?: ToolCall[];
  /** For role `tool`: which tool call this answers. */
  tool_call_id?: string;
  /**
   * AutoGen keeps the individual tool answers of a tool-calls reply here; the history
   * sent to the model expands them into separate `tool` messages.
   */
  tool_responses?: Message[];
  /**
   * For an agent with a `responseFormat`: the reply's JSON, parsed and validated by its schema. The
   * content keeps the JSON text; this key is never sent to a model.
   */
  parsed?: unknown;
}

/** What callers may pass where a message is expected: plain text or a partial message object. */
export type MessageInput =
  | string
  | (Partial<Omit<Message, 'role'>> & {
      role?: Message['role'] | undefined;
      override_role?: string | undefined;
    });

const contentPartSchema = z.union([
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({
    type: z.literal('image_url'),
    image_url: z.object({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
  }),
]);

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const baseMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
  parsed: z.unknown().optional(),
});

/** zod schema of a stored message; `tool_responses` holds messages of the same shape. */
export const messageSchema: z.ZodType<Message> = baseMessageSchema.extend({
  tool_responses: z.lazy(() => z.array(messageSchema)).optional(),
}) as unknown as z.ZodType<Message>;

/**
 * Text of a message's content: parts are concatenated and images shown as `<image>`, as AutoGen
 * does. Like AutoGen, anything that is not a text or image part throws ({@link InvalidMessageError}).
 */
export function contentToString(content: Message['content'] | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    throw new InvalidMessageError(
      `content must be null, a string, or an array of parts, but got ${typeof content}.`,
    );
  }
  let text = '';
  for (const part of content as unknown[]) {
    if (typeof part !== 'object' || part === null || Array.isArray(part)) {
      throw new InvalidMessageError(
        `Wrong content format: every element should be dict if the content is a list. Got ${JSON.stringify(part)}; ${PART_SHAPES}`,
      );
    }
    const type = (part as { type?: unknown }).type;
    if (type === 'text') {
      const partText = (part as { text?: unknown }).text;
      if (typeof partText !== 'string')
        throw new InvalidMessageError(
          `Wrong content format: a text part has no string \`text\`. ${PART_SHAPES}`,
        );
      text += partText;
    } else if (type === 'image_url') {
      text += '<image>';
    } else {
      throw new InvalidMessageError(
        `Wrong content format: unknown type ${String(type)} within the content. ${PART_SHAPES}`,
      );
    }
  }
  return text;
}

const PART_SHAPES =
  "Content parts must be { type: 'text', text: string } or { type: 'image_url', image_url: { url: string } }.";

/**
 * Turns what a caller passed into a stored message, following AutoGen's `_append_oai_message`
 * rules, and validates it. Throws {@link InvalidMessageError} and changes nothing when the input
 * has neither content nor tool calls.
 */
export function normalizeMessage(
  input: MessageInput,
  defaults: { role: 'user' | 'assistant'; name: string },
  direction: 'send' | 'receive',
): Message {
  const raw: Record<string, unknown> = typeof input === 'string' ? { content: input } : { ...input };
  // The API rejects an empty tool_calls array, so it is treated as absent.
  if (Array.isArray(raw['tool_calls']) && raw['tool_calls'].length === 0) delete raw['tool_calls'];
  const hasToolCalls = Array.isArray(raw['tool_calls']);
  if ((raw['content'] === undefined || raw['content'] === null) && !hasToolCalls) {
    const what = direction === 'send' ? 'Message' : 'Received message';
    throw new InvalidMessageError(
      `${what} can't be converted into a valid ChatCompletion message. Either content or tool_calls must be provided.`,
    );
  }
  const message: Record<string, unknown> = {};
  for (const key of ['content', 'tool_calls', 'tool_responses', 'tool_call_id', 'name', 'parsed'] as const) {
    if (raw[key] !== undefined && raw[key] !== null) message[key] = raw[key];
  }
  if (message['content'] === undefined) message['content'] = null;
  const givenRole = raw['role'];
  if (givenRole === 'tool' || givenRole === 'function') {
    message['role'] = givenRole;
  } else if (typeof raw['override_role'] === 'string' && raw['override_role']) {
    message['role'] = raw['override_role'];
  } else {
    message['role'] = defaults.role;
  }
  if (hasToolCalls) {
    message['role'] = 'assistant';
    delete message['name'];
  } else if (message['name'] === undefined) {
    // As AutoGen: tool and function answers keep who sent them too (the model is sent no name on them).
    message['name'] = defaults.name;
  }
  // Plain text messages are by far the most common and are valid by construction once the
  // fields are strings; skipping zod for them keeps a group-chat round in single microseconds.
  if (isPlainTextMessage(message)) return message as unknown as Message;
  const parsed = messageSchema.safeParse(message);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new InvalidMessageError(
      `Invalid chat message (${problems.join('; ')}). Pass a string or an OpenAI chat-completion message object.`,
    );
  }
  return parsed.data;
}

function isPlainTextMessage(message: Record<string, unknown>): boolean {
  for (const key in message) {
    const value = message[key];
    if (key === 'role') {
      if (value !== 'user' && value !== 'assistant' && value !== 'system') return false;
    } else if (key === 'content' || key === 'name') {
      if (typeof value !== 'string') return false;
    } else {
      return false;
    }
  }
  return true;
}

/**
 * The messages to send to a model: `tool_responses` are expanded into separate `tool` messages
 * and hopgen-only keys are dropped, so the list is valid for the chat-completions API.
 */
export function toModelMessages(messages: readonly Message[]): Message[] {
  const out: Message[] = [];
  for (const message of messages) {
    if (message.tool_responses && message.tool_responses.length > 0) {
      for (const response of message.tool_responses) out.push(stripForModel(response));
      // A human's answer over pending tool calls carries both: the tool answers, then their words.
      if (message.role !== 'tool') out.push(stripForModel(message));
      continue;
    }
    out.push(stripForModel(message));
  }
  return out;
}

function stripForModel(message: Message): Message {
  // Most messages are already in wire form; returning them as they are keeps a long chat's
  // per-turn prompt building cheap (the clients never change the messages they are given).
  if (
    message.tool_responses === undefined &&
    message.parsed === undefined &&
    !(message.role === 'tool' && message.name !== undefined)
  ) {
    return message;
  }
  const { tool_responses: _ignored, parsed: _parsed, ...rest } = message;
  // The API rejects `name` on tool messages.
  if (rest.role === 'tool') delete rest.name;
  return rest;
}
