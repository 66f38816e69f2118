import {
  ChatQueueError,
  ConversableAgent,
  InvalidOptionError,
  initiateChats,
  type TranscriptRenderer,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { planChatOrder } from '../src/chats/chat-queue.js';

function agent(name: string, reply: string) {
  return new ConversableAgent({ name, defaultAutoReply: reply, humanInputMode: 'NEVER', silent: true });
}

function quietRenderer(): TranscriptRenderer & { notices: string[] } {
  const notices: string[] = [];
  return { notices, messageReceived() {}, notice: (text: string) => void notices.push(text) };
}

/** The first message `recipient` received from `sender`. */
const firstReceived = (recipient: ConversableAgent, sender: ConversableAgent) =>
  recipient.chatMessages.get(sender)?.[0]?.content;

describe('initiateChats (sequential)', () => {
  it('carries over own carryover plus earlier summaries', async () => {
    const user = agent('user', '');
    const first = agent('first', 'summary one');
    const second = agent('second', 'summary two');
    const third = agent('third', 'summary three');
    const results = await initiateChats([
      { sender: user, recipient: first, message: 'Task1', maxTurns: 1, silent: true },
      { sender: user, recipient: second, message: 'Task2', carryover: 'Extra', maxTurns: 1, silent: true },
      {
        sender: user,
        recipient: third,
        message: 'Task3',
        maxTurns: 1,
        silent: true,
        finishedChatIndexesToExcludeFromCarryover: [0],
      },
    ]);
    expect(results.map((result) => result.summary)).toEqual(['summary one', 'summary two', 'summary three']);
    expect(firstReceived(first, user)).toBe('Task1');
    expect(firstReceived(second, user)).toBe('Task2\nContext: \nExtra\nsummary one');
    expect(firstReceived(third, user)).toBe('Task3\nContext: \nsummary two');
    expect(results.every((result) => result.terminationReason === 'max-turns')).toBe(true);
  });

  it('agent.initiateChats uses the agent as sender and prints a banner unless silent', async () => {
    const renderer = quietRenderer();
    const user = new ConversableAgent({ name: 'user', humanInputMode: 'NEVER', silent: true, renderer });
    const helper = agent('helper', 'done');
    const [result] = await user.initiateChats([
      { recipient: helper, message: 'hi', maxTurns: 1, verbose: true },
    ]);
    expect(result?.summary).toBe('done');
    expect(renderer.notices).toEqual([
      `\n${'*'.repeat(80)}`,
      'Starting a new chat....',
      'Message:\nhi',
      'Carryover:\n',
      `\n${'*'.repeat(80)}`,
    ]);
  });

  it('validates the whole queue before running anything', async () => {
    const user = agent('user', '');
    const helper = agent('helper', 'done');
    const bad = [
      { sender: user, recipient: helper, message: 'first', maxTurns: 1, silent: true },
      { recipient: helper, message: 'second' },
    ];
    await expect(initiateChats(bad)).rejects.toThrow('sender must be provided.');
    await expect(
      initiateChats([{ sender: user, message: 'x' } as unknown as Parameters<typeof initiateChats>[0][0]]),
    ).rejects.toThrow('recipient must be provided.');
    await expect(
      initiateChats([
        { sender: user, recipient: helper, message: 'first', silent: true },
        { sender: user, recipient: helper, message: 'x', summaryMethod: 'nope' as 'last_msg' },
      ]),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      initiateChats([
        { sender: user, recipient: helper, message: 'x', summaryMethod: 'reflection_with_llm', silent: true },
      ]),
    ).rejects.toThrow(/A model client must be set on the recipient or the sender/);
    expect(helper.chatMessages.size).toBe(0);
  });
});

describe('initiateChats (dependency graph)', () => {
  it('runs independent chats at the same time and feeds prerequisites’ summaries forward', async () => {
    const user = agent('user', '');
    let release: () => void = () => {};
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const waiting = (name: string, summary: string) => {
      const worker = agent(name, summary);
      worker.registerReply(ConversableAgent, async () => {
        started += 1;
        if (started === 2) release();
        // Each chat waits until the other has started: this only finishes if they run concurrently.
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000));
        if ((await Promise.race([bothStarted, timeout])) === 'timeout')
          return { final: true, reply: 'sequential' };
        return { final: true, reply: summary };
      });
      return worker;
    };
    const one = waiting('one', 'one');
    const two = waiting('two', 'two');
    const three = agent('three', 'three done');
    const order: string[] = [];
    for (const worker of [one, two, three]) {
      worker.on('message-received', () => order.push(worker.name));
    }
    const results = await initiateChats([
      {
        chatId: 3,
        sender: user,
        recipient: three,
        message: 'T3',
        prerequisites: [1, 2],
        maxTurns: 1,
        silent: true,
      },
      {
        chatId: 1,
        sender: user,
        recipient: one,
        message: 'T1',
        prerequisites: [],
        maxTurns: 1,
        silent: true,
      },
      { chatId: 2, sender: user, recipient: two, message: 'T2', maxTurns: 1, silent: true },
    ]);
    expect(results.map((result) => [result.chatId, result.summary])).toEqual([
      [3, 'three done'],
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(firstReceived(three, user)).toBe('T3\nContext: \none\ntwo');
    expect(order.at(-1)).toBe('three');
  });

  it('excludes prerequisites by chat id', async () => {
    const user = agent('user', '');
    const results = await initiateChats([
      {
        chatId: 'a',
        sender: user,
        recipient: agent('a', 'alpha'),
        message: 'A',
        prerequisites: [],
        silent: true,
        maxTurns: 1,
      },
      { chatId: 'b', sender: user, recipient: agent('b', 'beta'), message: 'B', silent: true, maxTurns: 1 },
      {
        chatId: 'c',
        sender: user,
        recipient: agent('c', 'gamma'),
        message: 'C',
        prerequisites: ['a', 'b'],
        finishedChatIndexesToExcludeFromCarryover: ['a'],
        silent: true,
        maxTurns: 1,
      },
    ]);
    expect(results[2]?.chatHistory[0]?.content).toBe('C\nContext: \nbeta');
  });

  it('rejects cycles, unknown prerequisites and missing ids before anything runs', async () => {
    const user = agent('user', '');
    const helper = agent('helper', 'done');
    const item = { sender: user, recipient: helper, message: 'x', silent: true, maxTurns: 1 };
    await expect(
      initiateChats([
        { ...item, chatId: 1, prerequisites: [2] },
        { ...item, chatId: 2, prerequisites: [1] },
        { ...item, chatId: 3 },
      ]),
    ).rejects.toThrow(/form a cycle \(chats 1, 2/);
    await expect(initiateChats([{ ...item, chatId: 1, prerequisites: [9] }])).rejects.toThrow(
      /unknown prerequisite 9/,
    );
    await expect(initiateChats([{ ...item, prerequisites: [] }])).rejects.toThrow(
      'Each chat must have a unique id for async multi-chat execution.',
    );
    await expect(
      initiateChats([
        { ...item, chatId: 1, prerequisites: [] },
        { ...item, chatId: 1 },
      ]),
    ).rejects.toThrow(ChatQueueError);
    expect(helper.chatMessages.size).toBe(0);
  });

  it('plans breadth first', () => {
    const user = agent('user', '');
    const helper = agent('helper', '');
    const item = { sender: user, recipient: helper };
    expect(
      planChatOrder([
        { ...item, chatId: 4, prerequisites: [2, 3] },
        { ...item, chatId: 3, prerequisites: [1] },
        { ...item, chatId: 2, prerequisites: [1] },
        { ...item, chatId: 1 },
      ]),
    ).toEqual([1, 3, 2, 4]);
  });
});
