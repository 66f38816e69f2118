import { contentToString, type Message, type ToolDefinition } from '@hopgen/agents';
import { type AssistantContent, jsonSchema, type ModelMessage, type Tool, tool, type UserContent } from 'ai';

/** A hopgen prompt in the AI SDK's form: the leading system text apart, the conversation as model messages. */
export interface AiSdkPrompt {
  system: string | undefined;
  messages: ModelMessage[];
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/**
 * Converts an OpenAI-form prompt (hopgen's messages) into the AI SDK's. The leading system messages become
 * the `system` text; a system message later in the chat (AutoGen's speaker-selection prompt) is sent as a
 * user message, because Anthropic and Gemini accept system text only at the start. Tool results keep the
 * name of the tool they answer, which providers such as Gemini need.
 */
export function toAiSdkPrompt(messages: readonly Message[]): AiSdkPrompt {
  const systemTexts: string[] = [];
  let index = 0;
  while (index < messages.length && messages[index]?.role === 'system') {
    systemTexts.push(contentToString(messages[index]?.content));
    index++;
  }
  const toolNames = new Map<string, string>();
  const converted: ModelMessage[] = [];
  for (const message of messages.slice(index)) {
    switch (message.role) {
      case 'assistant':
        converted.push({ role: 'assistant', content: assistantContent(message, toolNames) });
        break;
      case 'tool':
        converted.push({
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: message.tool_call_id ?? '',
              toolName: toolNames.get(message.tool_call_id ?? '') ?? message.name ?? '',
              output: { type: 'text', value: contentToString(message.content) },
            },
          ],
        });
        break;
      case 'function':
        // OpenAI's legacy function result has no AI SDK counterpart; the model still reads it as text.
        converted.push({
          role: 'user',
          content: `${message.name ?? 'function'}: ${contentToString(message.content)}`,
        });
        break;
      default:
        converted.push({ role: 'user', content: userContent(message.content) });
    }
  }
  return { system: systemTexts.length > 0 ? systemTexts.join('\n\n') : undefined, messages: converted };
}

function userContent(content: Message['content']): UserContent {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => {
    if (part.type === 'text') return { type: 'text' as const, text: part.text };
    const url = part.image_url.url;
    const data = DATA_URL.exec(url);
    if (data) return { type: 'image' as const, image: data[2] ?? '', mediaType: data[1] };
    return { type: 'image' as const, image: new URL(url) };
  });
}

function assistantContent(message: Message, toolNames: Map<string, string>): AssistantContent {
  const text = contentToString(message.content);
  if (!message.tool_calls || message.tool_calls.length === 0) return text;
  const parts: Exclude<AssistantContent, string> = text === '' ? [] : [{ type: 'text', text }];
  for (const call of message.tool_calls) {
    toolNames.set(call.id, call.function.name);
    parts.push({
      type: 'tool-call',
      toolCallId: call.id,
      toolName: call.function.name,
      input: parseArguments(call.function.arguments),
    });
  }
  return parts;
}

/** Arguments the model wrote as invalid JSON are passed back as the text they were, as OpenAI keeps them. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The AI SDK tool set for hopgen's tool definitions: schemas only, no `execute`, so hopgen's agents run the tools. */
export function toAiSdkTools(definitions: readonly ToolDefinition[]): Record<string, Tool> {
  const tools: Record<string, Tool> = {};
  for (const definition of definitions) {
    const { name, description, parameters } = definition.function;
    tools[name] = tool({
      ...(description !== undefined ? { description } : {}),
      inputSchema: jsonSchema(parameters as Parameters<typeof jsonSchema>[0]),
    });
  }
  return tools;
}
