import type { ConversableAgent } from '../conversable-agent.js';
import { carryoverItemText } from './carryover.js';
import {
  type ChatId,
  type ChatQueueItem,
  isDependencyQueue,
  planChatOrder,
  type ResolvedChatQueueItem,
  validateChatQueue,
} from './chat-queue.js';
import type { ChatResult } from './chat-result.js';
import { ChatRun } from './chat-run.js';
import type { InitiateChatOptions } from './initiate-chat.js';
import { assertPricesKnown, budgetFor, type RunBudgetOptions } from './run-budget.js';

/** Options of `initiateChats` for the whole plan: its budgets cover every chat together. */
export interface InitiateChatsOptions extends RunBudgetOptions {}

function carryoverList(carryover: ChatQueueItem['carryover']): (string | { content: unknown })[] {
  if (carryover === undefined || carryover === null) return [];
  if (typeof carryover === 'string') return [carryover];
  return [...carryover];
}

function printBanner(item: ResolvedChatQueueItem, carryover: (string | { content: unknown })[]): void {
  const notice = (text: string) => item.sender.renderer.notice(text);
  notice(`\n${'*'.repeat(80)}`);
  notice('Starting a new chat....');
  if (item.verbose) {
    const message = item.message;
    const shown =
      typeof message === 'string'
        ? message
        : typeof message === 'function'
          ? `Callable: ${message.name}`
          : message === undefined
            ? 'None'
            : `Dict: ${JSON.stringify(message)}`;
    notice(`Message:\n${shown}`);
    notice(`Carryover:\n${carryover.map(carryoverItemText).join('\n')}`);
  }
  notice(`\n${'*'.repeat(80)}`);
}

async function runOne(
  item: ResolvedChatQueueItem,
  carryover: (string | { content: unknown })[],
  plan: ChatRun | undefined,
): Promise<ChatResult> {
  const {
    sender,
    recipient,
    chatId,
    prerequisites: _prerequisites,
    finishedChatIndexesToExcludeFromCarryover: _excluded,
    verbose: _verbose,
    ...options
  } = item;
  if (!item.silent) printBanner(item, carryover);
  const chatOptions: InitiateChatOptions = { ...options };
  if (carryover.length > 0) chatOptions.carryover = carryover;
  else delete chatOptions.carryover;
  // Under the plan's run, each chat counts towards the plan's budget; once it is used up, the chats
  // left end at once with 'budget-exceeded'.
  if (plan !== undefined && chatOptions.parentRun === undefined) chatOptions.parentRun = plan;
  const result = await sender.initiateChat(recipient, chatOptions);
  return chatId === undefined ? result : { ...result, chatId };
}

/**
 * Runs several chats (AutoGen's `initiate_chats`). The whole queue is checked first. Without
 * `prerequisites` the chats run in order, and each gets as carryover its own `carryover` plus the
 * summaries of the chats before it (minus `finishedChatIndexesToExcludeFromCarryover`). When some
 * item has `prerequisites`, the queue is a dependency graph (AutoGen's `a_initiate_chats`): a chat
 * starts as soon as its prerequisites are done, with their summaries as carryover, and chats that do
 * not depend on each other run at the same time. Results come back in queue order.
 */
export async function initiateChats(
  queue: readonly ChatQueueItem[],
  options: InitiateChatsOptions = {},
): Promise<ChatResult[]> {
  const warnings = validateChatQueue(queue);
  // Child runs are made up front, in queue order, so their step ids do not depend on which chat of a
  // dependency graph happens to start first.
  const items = (queue as readonly ResolvedChatQueueItem[]).map((item) =>
    item.parentRun && !item.run ? { ...item, run: item.parentRun.child() } : item,
  );
  const budget = budgetFor(options, undefined);
  assertPricesKnown(
    budget,
    items.flatMap((item) => [item.sender, item.recipient]),
  );
  const plan = budget === undefined ? undefined : new ChatRun({ budget });
  if (isDependencyQueue(items)) return runDependencyQueue(items, warnings, plan);
  for (const warning of warnings) process.emitWarning(warning, { type: 'HopgenWarning' });
  const finished: ChatResult[] = [];
  for (const item of items) {
    const excluded = new Set(item.finishedChatIndexesToExcludeFromCarryover ?? []);
    const carryover = [
      ...carryoverList(item.carryover),
      ...finished.filter((_result, index) => !excluded.has(index)).map((result) => result.summary),
    ];
    finished.push(await runOne(item, carryover, plan));
  }
  return finished;
}

async function runDependencyQueue(
  items: readonly ResolvedChatQueueItem[],
  warnings: string[],
  plan: ChatRun | undefined,
): Promise<ChatResult[]> {
  const order = planChatOrder(items);
  for (const warning of warnings) process.emitWarning(warning, { type: 'HopgenWarning' });
  const byId = new Map<ChatId, ResolvedChatQueueItem>(items.map((item) => [item.chatId as ChatId, item]));
  const running = new Map<ChatId, Promise<ChatResult>>();
  for (const chatId of order) {
    const item = byId.get(chatId)!;
    const prerequisites = [...new Set(item.prerequisites ?? [])];
    const waitFor = prerequisites.map((id) => running.get(id)!);
    const promise = Promise.all(waitFor).then((done) => {
      const excluded = new Set(item.finishedChatIndexesToExcludeFromCarryover ?? []);
      const carryover = [
        ...carryoverList(item.carryover),
        ...done
          .filter((_result, index) => !excluded.has(prerequisites[index]!))
          .map((result) => result.summary),
      ];
      return runOne(item, carryover, plan);
    });
    running.set(chatId, promise);
  }
  const settled = await Promise.allSettled(items.map((item) => running.get(item.chatId as ChatId)!));
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<ChatResult>).value);
}

/** `agent.initiateChats(queue)`: like {@link initiateChats}, with `agent` as the sender of items that name none. */
export function initiateChatsFrom(
  agent: ConversableAgent,
  queue: readonly ChatQueueItem[],
  options: InitiateChatsOptions = {},
): Promise<ChatResult[]> {
  return initiateChats(
    queue.map((item) => (item.sender ? item : { ...item, sender: agent })),
    options,
  );
}
