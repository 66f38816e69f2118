import { budgetedClient } from '../chats/run-budget.js';
import type { JsonValue } from '../durable/run-store.js';
import type { Message, MessageInput } from '../message.js';
import type { ModelRequest, ModelResponse } from '../model-clients/model-client.js';
import { requestedModel, tracedModelClient } from '../telemetry/spans.js';
import { promptFor } from './prompt-cache.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';
import { createStructured } from './structured-output.js';

/** Images kept in a prompt unless `llmConfig.maxImagesInPrompt` says otherwise. */
const DEFAULT_MAX_IMAGES_IN_PROMPT = 4;

/** What a model call step keeps: the answer and its usage, without the cache flag's noise. */
type RecordedModelAnswer = Pick<ModelResponse, 'message' | 'model' | 'usage' | 'cached'>;

/**
 * The model step of the reply pipeline: sends the system message and the conversation (with the
 * agent's tools) to the agent's model and replies with its text or tool calls. In a durable run the
 * answer is stored; a resumed run reuses it, and a call that never answered is made again.
 */
export async function generateModelReply({
  agent,
  messages,
  run,
  signal,
}: ReplyContext): Promise<ReplyResult> {
  const untraced = agent.modelClient;
  if (untraced === null) return { final: false };
  const traced = tracedModelClient(untraced, requestedModel(agent.llmConfig));
  const client = run.budget ? budgetedClient(traced, run.budget, agent.name) : traced;
  // Built only when the call is made: a resumed run that replays a stored answer skips the work.
  const buildPrompt = (): Message[] => {
    const maxImages = agent.llmConfig === false ? undefined : agent.llmConfig.maxImagesInPrompt;
    return promptFor(agent, messages, maxImages ?? DEFAULT_MAX_IMAGES_IN_PROMPT);
  };
  const tools = agent.llmTools;
  const stream = agent.llmConfig !== false && agent.llmConfig.stream === true;
  const format = agent.responseFormat;
  if (format !== undefined) {
    const request = (): ModelRequest => ({
      messages: buildPrompt(),
      ...(tools.length > 0 ? { tools } : {}),
      ...(signal ? { signal } : {}),
      ...(stream ? { onTextDelta: (delta: string) => agent.emit('text-delta', { agent, delta }) } : {}),
    });
    const reply = await run.step(
      'model-call',
      { agent: agent.name },
      async (stepId) => {
        run.setNextMessageId(agent, stepId);
        const answer = await createStructured(client, request(), format, `Agent '${agent.name}'`);
        if (answer.kind === 'value') {
          return { role: 'assistant', content: answer.text, parsed: answer.value } as JsonValue;
        }
        const { content, tool_calls: toolCalls } = answer.response.message;
        return {
          role: 'assistant',
          content: content ?? null,
          tool_calls: toolCalls ?? [],
        } as unknown as JsonValue;
      },
      'repeat',
    );
    return { final: true, reply: reply as unknown as MessageInput };
  }
  let live = false;
  const answer = (await run.step(
    'model-call',
    { agent: agent.name },
    async (stepId, attemptKey) => {
      live = true;
      run.setNextMessageId(agent, stepId);
      const attempt = attemptOf(attemptKey);
      const journal = run.journal;
      let deltas = 0;
      let deltaWrites = Promise.resolve();
      const response = await client.create({
        messages: buildPrompt(),
        ...(tools.length > 0 ? { tools } : {}),
        ...(signal ? { signal } : {}),
        ...(stream
          ? {
              onTextDelta: (delta: string) => {
                agent.emit('text-delta', { agent, delta });
                if (!journal) return;
                deltas += 1;
                // Keyed by the try: a call made again after a crash streams under new keys.
                const key = `${attemptKey}.delta${deltas}`;
                const data = {
                  agent: agent.name,
                  messageId: stepId,
                  delta,
                  ...(attempt === 0 ? {} : { attempt }),
                };
                deltaWrites = deltaWrites.then(() => journal.record(key, 'text-delta', data));
              },
            }
          : {}),
      });
      await deltaWrites;
      const recorded: RecordedModelAnswer = {
        message: response.message,
        model: response.model,
        usage: response.usage,
        cached: response.cached,
      };
      return recorded as unknown as JsonValue;
    },
    'repeat',
  )) as unknown as RecordedModelAnswer;
  // A resumed run's budget counts the answers of earlier processes too, as the uninterrupted run did.
  if (!live && run.budget) run.budget.record(answer as ModelResponse, agent.name);
  const { content, tool_calls: toolCalls } = answer.message;
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

/** The try number in a step's attempt key (`r:4.retry2` is 2; the first try, `r:4`, is 0). */
export function attemptOf(attemptKey: string): number {
  const match = /\.retry(\d+)$/.exec(attemptKey);
  return match ? Number(match[1]) : 0;
}
