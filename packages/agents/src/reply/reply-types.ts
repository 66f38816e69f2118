import type { ChatRun } from '../chats/chat-run.js';
import type { ConversableAgent } from '../conversable-agent.js';
import type { Message, MessageInput } from '../message.js';

/** What a reply function answers: `final: true` stops the pipeline with `reply` (`null` ends the conversation). */
export interface ReplyResult {
  final: boolean;
  reply?: MessageInput | null;
}

/** What a reply function receives. */
export interface ReplyContext<TConfig = unknown> {
  /** The agent that is replying. */
  agent: ConversableAgent;
  /** The conversation so far (after hooks), oldest first. */
  messages: Message[];
  /** Who the reply is for, when known. */
  sender: ConversableAgent | undefined;
  /** The `config` given at registration (reset by `reset()`). */
  config: TConfig;
  /** The conversation this reply belongs to: its signal, counters, endings and human input. */
  run: ChatRun;
  /** The conversation's abort signal, if any (the same as `run.signal`). */
  signal: AbortSignal | undefined;
}

/** A step of the reply pipeline. */
export type ReplyFunction<TConfig = unknown> = (
  context: ReplyContext<TConfig>,
) => ReplyResult | Promise<ReplyResult>;

/** Options of `ConversableAgent.registerReply`. */
export interface RegisterReplyOptions<TConfig = unknown> {
  /** Index in the pipeline; 0 (the default) puts it first, so later registrations are checked earlier. @default 0 */
  position?: number;
  /** Passed to the reply function as `context.config`. */
  config?: TConfig;
  /** Called by `reset()` to restore the config; by default a shallow copy of the original is restored. */
  resetConfig?: (config: TConfig) => TConfig | undefined;
  /** Remove every other reply function first. @default false */
  removeOtherReplyFunctions?: boolean;
  /** Name used in events and errors. @default the function's name */
  name?: string;
}
