import type { ConversableAgent } from '../conversable-agent.js';
import type { Message, MessageInput } from '../message.js';
import type { ReplyTrigger } from '../reply/reply-trigger.js';
import type { ReplyResult } from '../reply/reply-types.js';
import type { ChatQueueItem } from './chat-queue.js';
import type { ChatRun } from './chat-run.js';
import { initiateChats } from './initiate-chats.js';

/**
 * A chat run when a nested-chat trigger fires. Like an `initiateChats` item, but `sender` defaults to
 * the agent that registered the nested chats, and `message` may be a function of the outer chat
 * (AutoGen's `message(recipient, messages, sender, config)`).
 */
export interface NestedChatQueueItem extends Omit<ChatQueueItem, 'message'> {
  /**
   * The first message. Omitted on the first item: the outer chat's last message. A function gets the
   * registering agent, the outer messages, the outer sender and the config. A chat whose message is
   * empty is skipped.
   */
  message?:
    | MessageInput
    | ((
        recipient: ConversableAgent,
        messages: Message[],
        sender: ConversableAgent | undefined,
        config: unknown,
      ) => MessageInput | Promise<MessageInput>);
}

/**
 * Builds the reply from the nested chats; the default replies with the last chat's summary. `run`
 * is the outer conversation: pass it as `parentRun` so the nested chats share its signal.
 */
export type NestedChatsReplyFunction = (
  chatQueue: readonly NestedChatQueueItem[],
  recipient: ConversableAgent,
  messages: Message[],
  sender: ConversableAgent | undefined,
  config: unknown,
  run?: ChatRun,
) => ReplyResult | Promise<ReplyResult>;

/** Options of `registerNestedChats`. */
export interface RegisterNestedChatsOptions {
  /** Which senders start the nested chats (same forms as `registerReply`). */
  trigger: ReplyTrigger;
  /**
   * Index in the reply pipeline. The default, 1, is right after the termination and human-input check
   * and before tool calls, where AutoGen's `position=2` lands (AutoGen counts sync and async copies).
   * @default 1
   */
  position?: number;
  /** Replaces the default reply (the summary of the last nested chat). */
  replyFunctionFromNestedChats?: NestedChatsReplyFunction;
  /** Passed to the message functions and the reply function. */
  config?: unknown;
}

function isEmptyMessage(message: MessageInput | undefined | null): boolean {
  if (message === undefined || message === null || message === '') return true;
  if (typeof message === 'object') {
    const hasContent = message.content !== undefined && message.content !== null && message.content !== '';
    return !hasContent && !(message.tool_calls && message.tool_calls.length > 0);
  }
  return false;
}

/**
 * The chats to run for one trigger (AutoGen's `_get_chats_to_run`): each item is copied, gets the
 * registering agent as sender when it has none, the first one without a message gets the outer
 * chat's last message, message functions are called, and chats with an empty message are dropped.
 */
export async function chatsToRun(
  chatQueue: readonly NestedChatQueueItem[],
  recipient: ConversableAgent,
  messages: Message[],
  sender: ConversableAgent | undefined,
  config: unknown,
): Promise<ChatQueueItem[]> {
  const lastContent = messages.at(-1)?.content;
  const result: ChatQueueItem[] = [];
  for (const [index, item] of chatQueue.entries()) {
    let message: MessageInput | undefined | null =
      typeof item.message === 'function' ? undefined : (item.message as MessageInput | undefined);
    if (item.message === undefined && index === 0) {
      message =
        typeof lastContent === 'string' ? lastContent : lastContent ? { content: lastContent } : undefined;
    }
    if (typeof item.message === 'function') message = await item.message(recipient, messages, sender, config);
    if (isEmptyMessage(message)) continue;
    result.push({ ...item, sender: item.sender ?? recipient, message: message as MessageInput });
  }
  return result;
}

/** The default nested-chat reply: run the chats and reply with the last one's summary (`null` when none ran). */
export const summaryFromNestedChats: NestedChatsReplyFunction = async (
  chatQueue,
  recipient,
  messages,
  sender,
  config,
  run,
) => {
  const toRun = await chatsToRun(chatQueue, recipient, messages, sender, config);
  if (toRun.length === 0) return { final: true, reply: null };
  const results = await initiateChats(run ? toRun.map((item) => ({ ...item, parentRun: run })) : toRun);
  return { final: true, reply: results.at(-1)!.summary };
};

/**
 * Registers nested chats on `agent` (AutoGen's `register_nested_chats`): when a message from a
 * matching sender arrives, the agent runs `chatQueue` with `initiateChats` and replies with the
 * summary of the last nested chat.
 */
export function registerNestedChats(
  agent: ConversableAgent,
  chatQueue: readonly NestedChatQueueItem[],
  options: RegisterNestedChatsOptions,
): void {
  const replyFunction = options.replyFunctionFromNestedChats ?? summaryFromNestedChats;
  const queue = [...chatQueue];
  agent.registerReply(
    options.trigger,
    ({ agent: self, messages, sender, run }) =>
      replyFunction(queue, self, messages, sender, options.config, run),
    { position: options.position ?? 1, name: 'nestedChats' },
  );
}
