import type { z } from 'zod';
import type { ConversableAgent } from '../conversable-agent.js';
import { BudgetExceededError, InvalidOptionError } from '../errors.js';
import type { MessageInput } from '../message.js';
import { gatherUsageSummary } from '../model-clients/usage-summary.js';
import { traceRun } from '../telemetry/spans.js';
import type { ChatResult, TerminationReason } from './chat-result.js';
import { ChatRun } from './chat-run.js';
import {
  assertPricesKnown,
  type BudgetExceeded,
  budgetFor,
  describeBudgetExceeded,
  type RunBudgetOptions,
} from './run-budget.js';
import {
  isStructuredSummary,
  type StructuredSummary,
  type SummaryArgs,
  type SummaryMethod,
  summarize,
  summarizeStructured,
  validateSummaryMethod,
} from './summary.js';

/** Options of `initiateChat`; `TStructured` is the type of a `{ schema }` summary. */
export interface InitiateChatOptions<TStructured = unknown> extends RunBudgetOptions {
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
  /** How to summarise the chat; `{ schema }` also fills `ChatResult.structured`. @default 'last_msg' */
  summaryMethod?: SummaryMethod | StructuredSummary<z.ZodType<TStructured>>;
  /** Arguments of the summary method. @default {} */
  summaryArgs?: SummaryArgs;
  /** Context appended to the first message as `"\nContext: \n"` and the items joined by newlines. */
  carryover?: string | readonly (string | { content: unknown })[];
  /** Stops the chat cleanly between turns. @default the parent run's signal */
  signal?: AbortSignal;
  /** The conversation this chat is started from (a nested chat gets its reply step's `context.run`). @default none */
  parentRun?: ChatRun;
  /** The run to hold this chat's state, made beforehand (durable runs and queues do). @default a new run */
  run?: ChatRun;
}

/** Runs a two-agent chat; `ConversableAgent.initiateChat` calls this. */
export function initiateChatWith<TStructured = unknown>(
  sender: ConversableAgent,
  recipient: ConversableAgent,
  options: InitiateChatOptions<TStructured>,
): Promise<ChatResult<TStructured>> {
  return traceRun(sender.name, recipient.name, () => runChat(sender, recipient, options));
}

async function runChat<TStructured>(
  sender: ConversableAgent,
  recipient: ConversableAgent,
  options: InitiateChatOptions<TStructured>,
): Promise<ChatResult<TStructured>> {
  const { maxTurns, clearHistory = true, silent = false, summaryArgs = {}, carryover } = options;
  const summaryMethod = options.summaryMethod === undefined ? 'last_msg' : options.summaryMethod;
  validateSummaryMethod(summaryMethod, sender, recipient);
  if (maxTurns !== undefined && !(Number.isInteger(maxTurns) && maxTurns > 0)) {
    throw new InvalidOptionError(`maxTurns must be a positive integer, got ${maxTurns}.`);
  }
  const run =
    options.run ??
    new ChatRun({
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.parentRun ? { parent: options.parentRun } : {}),
    });
  const budget = budgetFor(options, run.parent?.budget);
  if (budget !== undefined) run.budget = budget;
  assertPricesKnown(run.budget, [sender, recipient]);
  let reason: TerminationReason | undefined;
  let detail: string | undefined;
  // Set when a budget ends the chat: at the start (a plan's budget already used up), between turns, or
  // before a model call (the reply step throws, and the chat ends as it does for an abort).
  let budgetHit: BudgetExceeded | undefined = run.budget?.exceeded();
  try {
    if (budgetHit !== undefined) {
      // Nothing is sent: the budget was used up before this chat started.
      sender.prepareChat(recipient, { clearHistory });
    } else if (maxTurns !== undefined) {
      sender.prepareChat(recipient, { clearHistory, replyAtReceive: false });
      for (let turn = 0; turn < maxTurns; turn += 1) {
        if (run.aborted) break;
        budgetHit = run.budget?.exceeded();
        if (budgetHit !== undefined) break;
        let message: MessageInput | null;
        if (turn === 0) {
          message = await sender.generateInitMessage(options.message, recipient, { carryover, run });
        } else {
          message = await sender.generateReply({
            messages: sender.chatMessages.get(recipient) ?? [],
            sender: recipient,
            run,
          });
          if (message === null) break;
        }
        await sender.send(message, recipient, { requestReply: true, silent, run });
        if (run.endingOf(recipient, sender)) break;
        if (turn === maxTurns - 1) reason = 'max-turns';
      }
    } else {
      sender.prepareChat(recipient, { clearHistory });
      const message = await sender.generateInitMessage(options.message, recipient, { carryover, run });
      if (!run.aborted) await sender.send(message, recipient, { requestReply: true, silent, run });
    }
  } catch (error) {
    // An abort that lands in the middle of a model call or a code run ends the chat, not the program.
    if (error instanceof BudgetExceededError) budgetHit = error.exceeded;
    else if (!run.aborted) throw error;
  }
  if (budgetHit !== undefined) {
    reason = 'budget-exceeded';
    detail = describeBudgetExceeded(budgetHit);
  }
  if (run.aborted) reason = 'aborted';
  const recorded = run.endingOf(recipient, sender) ?? run.endingOf(sender, recipient);
  if (reason === undefined) {
    reason = recorded?.reason ?? 'no-reply';
    detail = recorded?.detail;
  }
  if (reason === 'budget-exceeded') budgetHit ??= run.budget?.exceeded();
  const { summary, structured } = await summaryOf(
    summaryMethod,
    sender,
    recipient,
    summaryArgs,
    run,
    budgetHit,
  );
  const result: ChatResult<TStructured> = {
    chatHistory: [...(sender.chatMessages.get(recipient) ?? [])],
    summary,
    ...(structured === undefined ? {} : { structured: structured as TStructured }),
    cost: gatherUsageSummary([sender, recipient]),
    humanInput: [...run.humanInput],
    terminationReason: reason,
    ...(budgetHit === undefined ? {} : { budgetExceeded: budgetHit }),
  };
  await run.record('chat-terminated', {
    agent: sender.name,
    reason,
    ...(detail ? { detail } : {}),
    summary,
  });
  sender.emit('chat-terminated', { agent: sender, reason, ...(detail ? { detail } : {}), result });
  return result;
}

async function summaryOf(
  summaryMethod: SummaryMethod,
  sender: ConversableAgent,
  recipient: ConversableAgent,
  summaryArgs: SummaryArgs,
  run: ChatRun,
  budgetHit: BudgetExceeded | undefined,
): Promise<{ summary: string; structured?: unknown }> {
  const needsModel = summaryMethod === 'reflection_with_llm' || isStructuredSummary(summaryMethod);
  if (needsModel && budgetHit !== undefined) {
    // A model-written summary would spend past the budget that just ended the chat.
    if (!sender.isSilent()) {
      sender.renderer.notice(
        'No summary: the chat used up its budget before a model could write one.',
        'warning',
      );
    }
    return { summary: '' };
  }
  if (isStructuredSummary(summaryMethod)) {
    return summarizeStructured(summaryMethod, sender, recipient, summaryArgs, run.signal);
  }
  return { summary: await summarize(summaryMethod, sender, recipient, summaryArgs) };
}
