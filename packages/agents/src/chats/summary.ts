import type { z } from 'zod';
import type { ConversableAgent } from '../conversable-agent.js';
import { errorMessage } from '../error-message.js';
import { InvalidOptionError } from '../errors.js';
import { contentToString, toModelMessages } from '../message.js';
import {
  createStructured,
  type ResponseFormatOptions,
  resolveResponseFormat,
} from '../reply/structured-output.js';
import { withoutTerminate } from '../termination.js';
import type { ChatRun } from './chat-run.js';

/** AutoGen's prompt for `reflection_with_llm` summaries. */
export const DEFAULT_SUMMARY_PROMPT =
  'Summarize the takeaway from the conversation. Do not add any introductory phrases.';

/** The prompt of a `{ schema }` summary. */
export const STRUCTURED_SUMMARY_PROMPT =
  'Summarize the takeaway from the conversation as JSON that matches the response schema.';

/**
 * A typed summary: the model writes it from the conversation as JSON that matches `schema`, and
 * `ChatResult.structured` is the validated value (`summary` is its JSON text).
 */
export type StructuredSummary<TSchema extends z.ZodType = z.ZodType> = ResponseFormatOptions<TSchema>;

/**
 * How a chat is summarised: the last message, a model-written reflection, a typed value written by
 * the model (`{ schema }`), a function, or not at all.
 */
export type SummaryMethod =
  | 'last_msg'
  | 'reflection_with_llm'
  | StructuredSummary
  | null
  | ((
      sender: ConversableAgent,
      recipient: ConversableAgent,
      summaryArgs: SummaryArgs,
    ) => string | Promise<string>);

/** Arguments of the summary method. */
export interface SummaryArgs {
  /** Prompt of a `reflection_with_llm` summary. @default AutoGen's summary prompt */
  summaryPrompt?: string;
  /** Role of that prompt. @default 'system' */
  summaryRole?: 'system' | 'user';
  [key: string]: unknown;
}

/** Checks a summary method before a chat starts, with AutoGen's message. */
export function validateSummaryMethod(
  summaryMethod: unknown,
  sender: ConversableAgent,
  recipient: ConversableAgent,
): void {
  if (summaryMethod === null || summaryMethod === undefined || typeof summaryMethod === 'function') return;
  if (isStructuredSummary(summaryMethod)) {
    resolveResponseFormat(summaryMethod, 'summaryMethod');
    if (!recipient.modelClient && !sender.modelClient) {
      throw new InvalidOptionError(
        'A summaryMethod with a schema needs a model: give the recipient or the sender an llmConfig.',
      );
    }
    return;
  }
  if (summaryMethod !== 'last_msg' && summaryMethod !== 'reflection_with_llm') {
    throw new InvalidOptionError(
      "summaryMethod must be 'last_msg', 'reflection_with_llm', a function, or null.",
    );
  }
  if (summaryMethod === 'reflection_with_llm' && !recipient.modelClient && !sender.modelClient) {
    throw new InvalidOptionError(
      "A model client must be set on the recipient or the sender when summaryMethod is 'reflection_with_llm': give one of the agents an llmConfig.",
    );
  }
}

/** Summarises a finished chat between `sender` and `recipient` with `summaryMethod`. */
export async function summarize(
  summaryMethod: SummaryMethod,
  sender: ConversableAgent,
  recipient: ConversableAgent,
  summaryArgs: SummaryArgs,
  run?: ChatRun,
): Promise<string> {
  if (summaryMethod === null || isStructuredSummary(summaryMethod)) return '';
  if (typeof summaryMethod === 'function') return summaryMethod(sender, recipient, summaryArgs);
  if (summaryMethod === 'last_msg') {
    const history = recipient.chatMessagesForSummary(sender);
    const last = history.at(-1);
    if (!last) return '';
    const content = Array.isArray(last.content)
      ? last.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n')
      : contentToString(last.content);
    return withoutTerminate(content);
  }
  const agent = recipient.modelClient ? recipient : sender;
  try {
    const reflect = () =>
      agent.reflectWithLlm(
        recipient.chatMessagesForSummary(sender),
        summaryArgs.summaryPrompt ?? DEFAULT_SUMMARY_PROMPT,
        summaryArgs.summaryRole ?? 'system',
      );
    if (!run) return await reflect();
    return await run.step('summary-call', { agent: agent.name }, reflect, 'repeat');
  } catch (error) {
    // As AutoGen does: a failed summary must not throw away a chat that already happened.
    if (!sender.isSilent()) {
      sender.renderer.notice(`Cannot make a reflection_with_llm summary: ${errorMessage(error)}`, 'warning');
    }
    return '';
  }
}

/** Whether `summaryMethod` asks for a typed summary (`{ schema }`). */
export function isStructuredSummary(summaryMethod: unknown): summaryMethod is StructuredSummary {
  return typeof summaryMethod === 'object' && summaryMethod !== null && 'schema' in summaryMethod;
}

/**
 * A typed summary of the chat, written by the recipient's model (else the sender's) as JSON and validated.
 * Like a failed reflection, a summary that never validates is a warning: the chat that happened is kept.
 */
export async function summarizeStructured(
  summaryMethod: StructuredSummary,
  sender: ConversableAgent,
  recipient: ConversableAgent,
  summaryArgs: SummaryArgs,
  signal: AbortSignal | undefined,
): Promise<{ summary: string; structured?: unknown }> {
  const agent = recipient.modelClient ? recipient : sender;
  const format = resolveResponseFormat(summaryMethod, 'summaryMethod');
  const messages = [
    ...toModelMessages(recipient.chatMessagesForSummary(sender)),
    {
      role: summaryArgs.summaryRole ?? 'system',
      content: summaryArgs.summaryPrompt ?? STRUCTURED_SUMMARY_PROMPT,
    } as const,
  ];
  try {
    const answer = await createStructured(
      agent.modelClient!,
      { messages, ...(signal ? { signal } : {}) },
      format,
      `The summary of the chat between '${sender.name}' and '${recipient.name}'`,
    );
    if (answer.kind === 'value') return { summary: answer.text, structured: answer.value };
    throw new InvalidOptionError('the model called a tool instead of writing the summary.');
  } catch (error) {
    if (!sender.isSilent()) {
      sender.renderer.notice(`Cannot make a structured summary: ${errorMessage(error)}`, 'warning');
    }
    return { summary: '' };
  }
}
