import { type Message, toModelMessages } from '../message.js';
import type { ModelRequest } from '../model-clients/model-client.js';
import { limitPromptImages } from '../model-clients/prompt-images.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';
import { createStructured } from './structured-output.js';

/** Images kept in a prompt unless `llmConfig.maxImagesInPrompt` says otherwise. */
const DEFAULT_MAX_IMAGES_IN_PROMPT = 4;

/**
 * The model step of the reply pipeline: sends the system message and the conversation (with the
 * agent's tools) to the agent's model and replies with its text or tool calls.
 */
export async function generateModelReply({ agent, messages, signal }: ReplyContext): Promise<ReplyResult> {
  const client = agent.modelClient;
  if (client === null) return { final: false };
  const maxImages = agent.llmConfig === false ? undefined : agent.llmConfig.maxImagesInPrompt;
  const conversation = limitPromptImages(
    toModelMessages(messages),
    maxImages ?? DEFAULT_MAX_IMAGES_IN_PROMPT,
  );
  const prompt: Message[] = [{ role: 'system', content: agent.systemMessage }, ...conversation];
  const tools = agent.llmTools;
  const stream = agent.llmConfig !== false && agent.llmConfig.stream === true;
  const request: ModelRequest = {
    messages: prompt,
    ...(tools.length > 0 ? { tools } : {}),
    ...(signal ? { signal } : {}),
    ...(stream ? { onTextDelta: (delta: string) => agent.emit('text-delta', { agent, delta }) } : {}),
  };
  const format = agent.responseFormat;
  if (format !== undefined) {
    const answer = await createStructured(client, request, format, `Agent '${agent.name}'`);
    if (answer.kind === 'value') {
      return { final: true, reply: { role: 'assistant', content: answer.text, parsed: answer.value } };
    }
    const { content, tool_calls: toolCalls } = answer.response.message;
    return {
      final: true,
      reply: { role: 'assistant', content: content ?? null, tool_calls: toolCalls ?? [] },
    };
  }
  const response = await client.create(request);
  const { content, tool_calls: toolCalls } = response.message;
  if (toolCalls && toolCalls.length > 0) {
    return { final: true, reply: { role: 'assistant', content: content ?? null, tool_calls: toolCalls } };
  }
  if (content === null || content === undefined) {
    // A model answer with neither text nor tool calls would be an invalid message; reply with
    // empty text so the conversation and every history stay valid.
    agent.renderer.notice(
      `\n>>>>>>>> ${agent.name}: the model returned neither content nor tool calls.`,
      'warning',
    );
    return { final: true, reply: '' };
  }
  return { final: true, reply: content };
}
