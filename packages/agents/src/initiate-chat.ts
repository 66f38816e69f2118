import type { ChatResult, TerminationReason } from './chat-result.js';
import type { ConversableAgent } from './conversable-agent.js';
import { DEFAULT_SUMMARY_PROMPT } from './conversable-agent.js';
import { InvalidOptionError } from './errors.js';
import { contentToString, type MessageInput } from './message.js';
import { gatherUsageSummary } from './model-clients/usage-summary.js';

/** How a chat is summarised: the last message, a model-written reflection, a function, or not at all. */
export type SummaryMethod =
  | 'last_msg'
  | 'reflection_with_llm'
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

/** Options of `initiateChat`. */
export interface InitiateChatOptions {
  /**
   * The first message: text, a message object, or a function that builds it (carryover is then
   * not appended). When omitted, a human is asked for it.
   */
  message?:
    | MessageInput
    | ((
        sender: ConversableAgent,
        recipient: ConversableAgent,
        context: { carryover?: unknown },
      ) => MessageInput | Promise<MessageInput>);
  /** Stop after this many turns (at most 2 × maxTurns messages). @default unlimited */
  maxTurns?: number;
  /** Clear both agents' history with each other first. @default true */
  clearHistory?: boolean;
  /** Print nothing. @default false */
  silent?: boolean;
  /** How to summarise the chat. @default 'last_msg' */
  summaryMethod?: SummaryMethod;
  /** Arguments of the summary method. @default {} */
  summaryArgs?: SummaryArgs;
  /** Context appended to the first message as `"\nContext: \n"` and the items joined by newlines. */
  carryover?: string | readonly (string | { content: unknown })[];
  /** Stops the chat cleanly between turns. */
  signal?: AbortSignal;
}

/** Checks a summary method before a chat starts, with AutoGen's message. */
export function validateSummaryMethod(
  summaryMethod: unknown,
  sender: ConversableAgent,
  recipient: ConversableAgent,
): void {
  if (summaryMethod === null || summaryMethod === undefined || typeof summaryMethod === 'function') return;
  if (summaryMethod !== 'last_msg' && summaryMethod !== 'reflection_with_llm') {
    throw new InvalidOptionError(
      "summary_method must be a string chosen from 'reflection_with_llm' or 'last_msg' or a callable, or None. Pass summaryMethod: 'last_msg', 'reflection_with_llm', a function or null.",
    );
  }
  if (summaryMethod === 'reflection_with_llm' && !recipient.modelClient && !sender.modelClient) {
    throw new InvalidOptionError(
      'llm client must be set in either the recipient or sender when summary_method is reflection_with_llm. Give one of the agents an llmConfig.',
    );
  }
}

/** Runs a two-agent chat; `ConversableAgent.initiateChat` calls this. */
export async function initiateChatWith(
  sender: ConversableAgent,
  recipient: ConversableAgent,
  options: InitiateChatOptions,
): Promise<ChatResult> {
  const { maxTurns, clearHistory = true, silent = false, summaryArgs = {}, carryover, signal } = options;
  const summaryMethod = options.summaryMethod === undefined ? 'last_msg' : options.summaryMethod;
  validateSummaryMethod(summaryMethod, sender, recipient);
  if (maxTurns !== undefined && !(Number.isInteger(maxTurns) && maxTurns > 0)) {
    throw new InvalidOptionError(`maxTurns must be a positive integer, got ${maxTurns}.`);
  }
  // A nested chat runs inside an outer one: keep the outer chat's signal unless this chat has its
  // own, and give it back afterwards.
  const chatSignal = signal ?? sender.currentSignal;
  const savedSignals = [sender.currentSignal, recipient.currentSignal] as const;
  sender.currentSignal = chatSignal;
  recipient.currentSignal = chatSignal;
  try {
    let reason: TerminationReason | undefined;
    let detail: string | undefined;
    try {
      if (maxTurns !== undefined) {
        sender.prepareChat(recipient, clearHistory, true, false);
        for (let turn = 0; turn < maxTurns; turn += 1) {
          if (chatSignal?.aborted) break;
          let message: MessageInput | null;
          if (turn === 0) {
            message = await sender.generateInitMessage(options.message, recipient, carryover);
          } else {
            message = await sender.generateReply({
              messages: sender.chatMessages.get(recipient) ?? [],
              sender: recipient,
            });
            if (message === null) break;
          }
          await sender.send(message, recipient, { requestReply: true, silent });
          if (recipient.terminationWith(sender)) break;
          if (turn === maxTurns - 1) reason = 'max-turns';
        }
      } else {
        sender.prepareChat(recipient, clearHistory);
        const message = await sender.generateInitMessage(options.message, recipient, carryover);
        if (!chatSignal?.aborted) await sender.send(message, recipient, { requestReply: true, silent });
      }
    } catch (error) {
      // An abort that lands in the middle of a model call or a code run ends the chat, not the program.
      if (!chatSignal?.aborted) throw error;
    }
    if (chatSignal?.aborted) reason = 'aborted';
    const recorded = recipient.terminationWith(sender) ?? sender.terminationWith(recipient);
    if (reason === undefined) {
      reason = recorded?.reason ?? 'no-reply';
      detail = recorded?.detail;
    }
    const summary = await summarize(summaryMethod, sender, recipient, summaryArgs);
    const result: ChatResult = {
      chatHistory: [...(sender.chatMessages.get(recipient) ?? [])],
      summary,
      cost: gatherUsageSummary([sender, recipient]),
      humanInput: [...sender.humanInputWith(recipient), ...recipient.humanInputWith(sender)],
      terminationReason: reason,
    };
    sender.emit('chat-terminated', { agent: sender, reason, ...(detail ? { detail } : {}), result });
    return result;
  } finally {
    [sender.currentSignal, recipient.currentSignal] = savedSignals;
  }
}

async function summarize(
  summaryMethod: SummaryMethod,
  sender: ConversableAgent,
  recipient: ConversableAgent,
  summaryArgs: SummaryArgs,
): Promise<string> {
  if (summaryMethod === null) return '';
  if (typeof summaryMethod === 'function') return summaryMethod(sender, recipient, summaryArgs);
  if (summaryMethod === 'last_msg') {
    const history = recipient.chatMessagesForSummary(sender);
    const last = history.at(-1);
    if (!last) return '';
    const content = Array.isArray(last.content)
      ? last.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n')
      : contentToString(last.content);
    return content.replaceAll('TERMINATE', '');
  }
  const agent = recipient.modelClient ? recipient : sender;
  try {
    return await agent.reflectWithLlm(
      recipient.chatMessagesForSummary(sender),
      summaryArgs.summaryPrompt ?? DEFAULT_SUMMARY_PROMPT,
      summaryArgs.summaryRole ?? 'system',
    );
  } catch (error) {
    // As AutoGen does: a failed summary must not throw away a chat that already happened.
    if (sender.silent !== true) {
      sender.renderer.notice(
        `Cannot make a reflection_with_llm summary: ${error instanceof Error ? error.message : String(error)}`,
        'warning',
      );
    }
    return '';
  }
}
