import type { ConversableAgent } from '../conversable-agent.js';
import { ChatQueueError } from '../group-chat/group-chat-errors.js';
import type { InitiateChatOptions } from './initiate-chat.js';
import { validateSummaryMethod } from './summary.js';

/** An id of a chat in a dependency graph of chats. */
export type ChatId = number | string;

/** One chat of an `initiateChats` queue: the `initiateChat` options plus who talks to whom. */
export interface ChatQueueItem extends InitiateChatOptions {
  /** The initiating agent. Required, except in `agent.initiateChats` where it defaults to that agent. */
  sender?: ConversableAgent;
  /** The agent the chat is with. */
  recipient: ConversableAgent;
  /** Id of this chat; required on every item when any item has `prerequisites`. */
  chatId?: ChatId;
  /**
   * Ids of chats that must finish first; their summaries become this chat's carryover. When any item
   * has this field, the queue runs as a dependency graph and independent chats run at the same time.
   */
  prerequisites?: ChatId[];
  /**
   * Earlier chats whose summaries are not carried over: queue indexes (in order), or chat ids (in a
   * dependency graph), as in AutoGen. @default []
   */
  finishedChatIndexesToExcludeFromCarryover?: ChatId[];
  /** Print the message and the carryover in the banner. @default false */
  verbose?: boolean;
}

/** A queue item whose sender is known. */
export type ResolvedChatQueueItem = ChatQueueItem & { sender: ConversableAgent };

/**
 * Checks a whole queue before any chat runs (AutoGen's `consolidate_chat_info`): every item needs a
 * sender and a recipient and a valid summary method. Returns warnings (repeated recipients).
 */
export function validateChatQueue(queue: readonly ChatQueueItem[]): string[] {
  if (!Array.isArray(queue)) {
    throw new ChatQueueError('initiateChats needs an array of chats: [{ sender, recipient, message }, ...].');
  }
  queue.forEach((item, index) => {
    if (!item || typeof item !== 'object') {
      throw new ChatQueueError(
        `Chat ${index} of the queue is not an object: give { sender, recipient, message }.`,
      );
    }
    if (!item.sender)
      throw new ChatQueueError(`sender must be provided. (chat ${index} of the queue has none)`);
    if (!item.recipient) {
      throw new ChatQueueError(`recipient must be provided. (chat ${index} of the queue has none)`);
    }
    validateSummaryMethod(
      item.summaryMethod === undefined ? 'last_msg' : item.summaryMethod,
      item.sender,
      item.recipient,
    );
  });
  const recipients = new Set(queue.map((item) => item.recipient));
  if (recipients.size < queue.length) {
    return [
      "Repetitive recipients detected: The chat history will be cleared by default if a recipient appears more than once. To retain the chat history, please set 'clear_history=False' in the configuration of the repeating agent.",
    ];
  }
  return [];
}

/** Whether the queue runs as a dependency graph: some item lists `prerequisites`. */
export function isDependencyQueue(queue: readonly ChatQueueItem[]): boolean {
  return queue.some((item) => item.prerequisites !== undefined);
}

/**
 * Orders a dependency queue (AutoGen's `__find_async_chat_order`, breadth first). Every item needs a
 * unique `chatId`; an unknown prerequisite or a cycle is an error, raised before anything runs
 * (AutoGen silently runs nothing on a cycle).
 */
export function planChatOrder(queue: readonly ChatQueueItem[]): ChatId[] {
  const ids = new Set<ChatId>();
  for (const item of queue) {
    if (item.chatId === undefined || item.chatId === null) {
      throw new ChatQueueError(
        'Each chat must have a unique id for async multi-chat execution. Give every chat of the queue a chatId.',
      );
    }
    if (ids.has(item.chatId)) {
      throw new ChatQueueError(
        `Each chat must have a unique id for async multi-chat execution. chatId ${String(item.chatId)} is used twice.`,
      );
    }
    ids.add(item.chatId);
  }
  const dependents = new Map<ChatId, ChatId[]>();
  const indegree = new Map<ChatId, number>();
  for (const item of queue) {
    const chatId = item.chatId as ChatId;
    indegree.set(chatId, 0);
    for (const prerequisite of item.prerequisites ?? []) {
      if (typeof prerequisite !== 'number' && typeof prerequisite !== 'string') {
        throw new ChatQueueError(
          `Prerequisite chat id is not int. Chat ${String(chatId)} lists ${String(prerequisite)}; use the chatId of another chat.`,
        );
      }
      if (!ids.has(prerequisite)) {
        throw new ChatQueueError(
          `Chat ${String(chatId)} has the unknown prerequisite ${String(prerequisite)}. Prerequisites must be chatIds of chats in the same queue.`,
        );
      }
    }
  }
  for (const item of queue) {
    const chatId = item.chatId as ChatId;
    for (const prerequisite of new Set(item.prerequisites ?? [])) {
      indegree.set(chatId, (indegree.get(chatId) ?? 0) + 1);
      const list = dependents.get(prerequisite) ?? [];
      list.push(chatId);
      dependents.set(prerequisite, list);
    }
  }
  let frontier = queue.map((item) => item.chatId as ChatId).filter((chatId) => indegree.get(chatId) === 0);
  const order: ChatId[] = [];
  while (frontier.length > 0) {
    order.push(...frontier);
    const next: ChatId[] = [];
    for (const chatId of frontier) {
      for (const dependent of dependents.get(chatId) ?? []) {
        const remaining = (indegree.get(dependent) ?? 0) - 1;
        indegree.set(dependent, remaining);
        if (remaining === 0) next.push(dependent);
      }
    }
    frontier = next;
  }
  if (order.length < queue.length) {
    const stuck = queue.map((item) => item.chatId as ChatId).filter((chatId) => !order.includes(chatId));
    throw new ChatQueueError(
      `The chat prerequisites form a cycle (chats ${stuck.map(String).join(', ')} wait for each other). Remove a prerequisite to break it.`,
    );
  }
  return order;
}
