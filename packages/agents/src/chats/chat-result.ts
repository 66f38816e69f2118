import type { Message } from '../message.js';
import type { UsageReport } from '../model-clients/usage.js';
import type { BudgetExceeded } from './run-budget.js';

/**
 * Why a chat ended.
 * - `max-turns`: `initiateChat`'s `maxTurns` was reached.
 * - `termination-message`: a message matched an agent's `isTerminationMsg`.
 * - `max-consecutive-auto-reply`: an agent reached its `maxConsecutiveAutoReply` limit.
 * - `human-exit`: a human typed `exit`.
 * - `max-round`: a group chat reached `maxRound`.
 * - `no-eligible-speaker`: a group chat had nobody left to speak (a sink in the transition graph).
 * - `no-reply`: an agent produced no reply.
 * - `selector-ended`: a custom speaker-selection function returned `null`.
 * - `aborted`: the `signal` passed to `initiateChat` was aborted.
 * - `budget-exceeded`: `maxTokens`, `maxCostUsd` or `maxDurationMs` was used up (`ChatResult.budgetExceeded` says which).
 */
export type TerminationReason =
  | 'max-turns'
  | 'termination-message'
  | 'max-consecutive-auto-reply'
  | 'human-exit'
  | 'max-round'
  | 'no-eligible-speaker'
  | 'no-reply'
  | 'selector-ended'
  | 'aborted'
  | 'budget-exceeded';

/** What `initiateChat` returns (AutoGen's `ChatResult`); `TStructured` is the type of a `{ schema }` summary. */
export interface ChatResult<TStructured = unknown> {
  /** Set for chats run by `initiateChats` with a `chatId`. */
  chatId?: number | string;
  /** The conversation as the initiating agent saw it. */
  chatHistory: Message[];
  /** The summary produced by `summaryMethod` (empty when `summaryMethod` is `null`). */
  summary: string;
  /** With `summaryMethod: { schema }`: the summary as a validated value (unset when the model never got it right). */
  structured?: TStructured;
  /** Tokens and cost of both agents' model clients. */
  cost: UsageReport;
  /** Every answer a human gave during the chat. */
  humanInput: string[];
  /** Why the chat ended. */
  terminationReason: TerminationReason;
  /** With `terminationReason: 'budget-exceeded'`: which budget, its limit and the usage so far. */
  budgetExceeded?: BudgetExceeded;
}
