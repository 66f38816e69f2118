import { z } from 'zod';
import type { ChatQueueItem } from '../chats/chat-queue.js';
import type { InitiateChatOptions } from '../chats/initiate-chat.js';
import type { ConversableAgent } from '../conversable-agent.js';
import { InvalidSnapshotError, NotDurableError } from './durable-errors.js';

const jsonMessage = z.union([z.string(), z.record(z.string(), z.unknown())]);

const chatOptionsSchema = z.object({
  message: jsonMessage.optional(),
  maxTurns: z.number().int().positive().optional(),
  silent: z.boolean().optional(),
  summaryMethod: z.enum(['last_msg', 'reflection_with_llm']).nullable().optional(),
  summaryArgs: z.record(z.string(), z.unknown()).optional(),
  carryover: z
    .union([z.string(), z.array(z.union([z.string(), z.object({ content: z.unknown() })]))])
    .optional(),
  maxTokens: z.number().positive().optional(),
  maxCostUsd: z.number().positive().optional(),
  maxDurationMs: z.number().positive().optional(),
});

const chatId = z.union([z.number(), z.string()]);

/** The schema of a stored run's definition: the flow, by agent names, and the run's policies. */
export const runDefinitionSchema = z.object({
  flow: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('chat'),
      sender: z.string(),
      recipient: z.string(),
      options: chatOptionsSchema,
    }),
    z.object({
      kind: z.literal('chats'),
      queue: z.array(
        chatOptionsSchema.extend({
          sender: z.string(),
          recipient: z.string(),
          chatId: chatId.optional(),
          prerequisites: z.array(chatId).optional(),
          finishedChatIndexesToExcludeFromCarryover: z.array(chatId).optional(),
          verbose: z.boolean().optional(),
        }),
      ),
    }),
  ]),
  approval: z.object({ codeExecution: z.boolean().optional(), toolCalls: z.boolean().optional() }),
  humanInput: z.object({
    timeoutMs: z.number().nonnegative().optional(),
    defaultAnswer: z.string().optional(),
  }),
});

/** What a durable run was started with, as stored. */
export type RunDefinition = z.infer<typeof runDefinitionSchema>;

type ChatOptions = z.infer<typeof chatOptionsSchema>;

/** Checks a stored definition; a broken one is an `InvalidSnapshotError` naming the first problem. */
export function parseRunDefinition(value: unknown): RunDefinition {
  const parsed = runDefinitionSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidSnapshotError(
      `The stored run definition is not valid: ${issue?.path.join('.') || '(root)'}: ${issue?.message}.`,
    );
  }
  return parsed.data;
}

const STORABLE_KEYS = [
  'message',
  'maxTurns',
  'silent',
  'summaryMethod',
  'summaryArgs',
  'carryover',
  'maxTokens',
  'maxCostUsd',
  'maxDurationMs',
] as const;

/** The plain-JSON part of `initiateChat` options; anything a resumed run could not rebuild is refused. */
export function storableChatOptions(options: InitiateChatOptions, where: string): ChatOptions {
  if (typeof options.message === 'function') {
    throw new NotDurableError(
      `${where}: a durable run stores its options, and a message function cannot be stored. Pass the message as text or a message object.`,
    );
  }
  if (typeof options.summaryMethod === 'function') {
    throw new NotDurableError(
      `${where}: a durable run stores its options, and a summary function cannot be stored. Use summaryMethod 'last_msg', 'reflection_with_llm' or null.`,
    );
  }
  if (options.clearHistory === false) {
    throw new NotDurableError(
      `${where}: a durable run replays the conversation from empty histories on resume, so clearHistory: false cannot be kept. Leave clearHistory out.`,
    );
  }
  const picked: Record<string, unknown> = {};
  for (const key of STORABLE_KEYS) if (options[key] !== undefined) picked[key] = options[key];
  const parsed = chatOptionsSchema.safeParse(JSON.parse(JSON.stringify(picked)));
  if (!parsed.success) {
    throw new NotDurableError(
      `${where}: options cannot be stored as JSON (${parsed.error.issues[0]?.message}).`,
    );
  }
  return parsed.data;
}

/** The stored form of an `initiateChats` queue. */
export function storableQueue(queue: readonly ChatQueueItem[]): RunDefinition['flow'] {
  return {
    kind: 'chats',
    queue: queue.map((item, index) => {
      if (!item.sender) {
        throw new NotDurableError(
          `Chat ${index} of the queue has no sender; a durable queue names every sender.`,
        );
      }
      return {
        ...storableChatOptions(item, `Chat ${index} of the queue`),
        sender: item.sender.name,
        recipient: item.recipient.name,
        ...(item.chatId === undefined ? {} : { chatId: item.chatId }),
        ...(item.prerequisites ? { prerequisites: [...item.prerequisites] } : {}),
        ...(item.finishedChatIndexesToExcludeFromCarryover
          ? { finishedChatIndexesToExcludeFromCarryover: [...item.finishedChatIndexesToExcludeFromCarryover] }
          : {}),
        ...(item.verbose === undefined ? {} : { verbose: item.verbose }),
      };
    }),
  };
}

/** The agents a flow names, so a resume can check it was given all of them. */
export function agentNames(flow: RunDefinition['flow']): string[] {
  const names =
    flow.kind === 'chat'
      ? [flow.sender, flow.recipient]
      : flow.queue.flatMap((item) => [item.sender, item.recipient]);
  return [...new Set(names)];
}

/** Looks agents up by name; a missing one is an error that lists what was given. */
export function bindAgents(
  flow: RunDefinition['flow'],
  agents: readonly ConversableAgent[],
): Map<string, ConversableAgent> {
  const byName = new Map(agents.map((agent) => [agent.name, agent]));
  const missing = agentNames(flow).filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new NotDurableError(
      `The run needs the agents ${missing.map((name) => `'${name}'`).join(', ')}, which were not given. Pass them in resumeRun(..., { agents: [...] }) (given: ${[...byName.keys()].join(', ') || 'none'}).`,
    );
  }
  return byName;
}
