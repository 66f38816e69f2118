import {
  AssistantAgent,
  ConversableAgent,
  ConversationNotFoundError,
  InvalidCarryoverError,
  InvalidMessageError,
  InvalidOptionError,
  type Message,
  SenderRequiredError,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedHumanInput, ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';
import { messageSchema } from '../src/message.js';

const quiet = { silent: true } as const;

function agent(name: string, options: Partial<ConstructorParameters<typeof ConversableAgent>[0]> = {}) {
  return new ConversableAgent({ name, humanInputMode: 'NEVER', ...quiet, ...options });
}

describe('reply pipeline', () => {
  it('runs built-in steps in AutoGen order and puts later registrations first', () => {
    const a = agent('a');
    expect(a.replyFunctionNames).toEqual([
      'checkTerminationAndHumanReply',
      'generateToolCallsReply',
      'generateModelReply',
    ]);
    a.registerReply(null, function first() {
      return { final: false };
    });
    a.registerReply(null, function second() {
      return { final: false };
    });
    expect(a.replyFunctionNames.slice(0, 2)).toEqual(['second', 'first']);
    a.registerReply(
      null,
      function last() {
        return { final: false };
      },
      { position: a.replyFunctionNames.length },
    );
    expect(a.replyFunctionNames.at(-1)).toBe('last');
  });

  it('matches triggers by instance, name, class, predicate, array and null', async () => {
    const bob = agent('bob');
    const carol = new AssistantAgent({ name: 'carol', ...quiet });
    const a = agent('a');
    const seen: string[] = [];
    const mark = (label: string) => () => {
      seen.push(label);
      return { final: false };
    };
    a.registerReply(bob, mark('instance'));
    a.registerReply('bob', mark('name'));
    a.registerReply(AssistantAgent, mark('class'));
    a.registerReply((sender) => sender.name.startsWith('c'), mark('predicate'));
    a.registerReply(['nobody', carol], mark('array'));
    a.registerReply(null, mark('null'));
    await a.generateReply({ messages: [{ role: 'user', content: 'hi' }], sender: bob });
    expect(seen).toEqual(['name', 'instance']);
    seen.length = 0;
    await a.generateReply({ messages: [{ role: 'user', content: 'hi' }], sender: carol });
    expect(seen).toEqual(['array', 'predicate', 'class']);
    seen.length = 0;
    await expect(a.generateReply({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      SenderRequiredError,
    );
  });

  it('rejects a trigger of the wrong type at registration', () => {
    expect(() => agent('a').registerReply(42 as never, () => ({ final: false }))).toThrow(InvalidOptionError);
  });

  it('answers defaultAutoReply when no step is final, and the first final step wins', async () => {
    const a = agent('a', { defaultAutoReply: 'fallback' });
    expect(await a.generateReply({ messages: [{ role: 'user', content: 'x' }], sender: agent('b') })).toBe(
      'fallback',
    );
    a.registerReply(null, () => ({ final: true, reply: 'mine' }));
    a.registerReply(null, () => ({ final: true, reply: 'earlier' }));
    expect(await a.generateReply({ messages: [{ role: 'user', content: 'x' }] })).toBe('earlier');
  });

  it('restores reply-function config on reset', async () => {
    const a = agent('a');
    a.registerReply<{ count: number }>(
      null,
      ({ config }) => {
        config.count += 1;
        return { final: true, reply: String(config.count) };
      },
      { config: { count: 0 } },
    );
    expect(await a.generateReply({ messages: [{ role: 'user', content: 'x' }] })).toBe('1');
    expect(await a.generateReply({ messages: [{ role: 'user', content: 'x' }] })).toBe('2');
    a.reset();
    expect(await a.generateReply({ messages: [{ role: 'user', content: 'x' }] })).toBe('1');
  });
});

describe('consecutive auto replies and termination', () => {
  it('stops a NEVER agent after maxConsecutiveAutoReply replies to the same sender', async () => {
    const a = agent('a', { maxConsecutiveAutoReply: 2, defaultAutoReply: 'from a' });
    const b = agent('b', { defaultAutoReply: 'from b' });
    const result = await b.initiateChat(a, { message: 'start' });
    // start, a, b, a, b: a replied twice, then stopped.
    expect(result.chatHistory.map((message) => message.content)).toEqual([
      'start',
      'from a',
      'from b',
      'from a',
      'from b',
    ]);
    expect(result.terminationReason).toBe('max-consecutive-auto-reply');
    expect(a.maxConsecutiveAutoReply()).toBe(2);
  });

  it('per-sender limits override the default', () => {
    const a = agent('a');
    const b = agent('b');
    a.updateMaxConsecutiveAutoReply(3, b);
    expect(a.maxConsecutiveAutoReply(b)).toBe(3);
    expect(a.maxConsecutiveAutoReply()).toBe(100);
    a.updateMaxConsecutiveAutoReply(7);
    expect(a.maxConsecutiveAutoReply(b)).toBe(7);
  });

  it('maxConsecutiveAutoReply 0 never auto-replies', async () => {
    const a = agent('a', { maxConsecutiveAutoReply: 0, defaultAutoReply: 'never sent' });
    const b = agent('b');
    const result = await b.initiateChat(a, { message: 'hello' });
    expect(result.chatHistory).toHaveLength(1);
  });

  it('the default termination check is an exact TERMINATE match', async () => {
    const a = agent('a');
    expect(a.isTerminationMsg({ role: 'user', content: 'TERMINATE' })).toBe(true);
    expect(a.isTerminationMsg({ role: 'user', content: 'Done. TERMINATE' })).toBe(false);
    const b = agent('b', { defaultAutoReply: 'TERMINATE' });
    const result = await a.initiateChat(b, { message: 'go' });
    expect(result.chatHistory.map((message) => message.content)).toEqual(['go', 'TERMINATE']);
    expect(result.terminationReason).toBe('termination-message');
  });
});

describe('human input modes', () => {
  it('ALWAYS asks on every message with AutoGen prompts; enter uses auto reply; exit ends', async () => {
    const human = new ScriptedHumanInput(['', 'try again', 'exit']);
    const user = new UserProxyAgent({ name: 'user', humanInput: human, defaultAutoReply: 'auto', ...quiet });
    const bot = agent('bot', { defaultAutoReply: 'bot says' });
    const result = await user.initiateChat(bot, { message: 'hi' });
    expect(human.prompts[0]).toBe(
      "Replying as user. Provide feedback to bot. Press enter to skip and use auto-reply, or type 'exit' to end the conversation: ",
    );
    expect(result.chatHistory.map((message) => message.content)).toEqual([
      'hi',
      'bot says',
      'auto',
      'bot says',
      'try again',
      'bot says',
    ]);
    expect(result.humanInput).toEqual(['', 'try again', 'exit']);
    expect(result.terminationReason).toBe('human-exit');
  });

  it('TERMINATE asks only when a termination message arrives or the limit is hit', async () => {
    const human = new ScriptedHumanInput(['keep going', '']);
    const user = new ConversableAgent({
      name: 'user',
      humanInputMode: 'TERMINATE',
      humanInput: human,
      ...quiet,
    });
    const replies = ['working', 'TERMINATE', 'TERMINATE'];
    const bot = agent('bot');
    bot.registerReply(null, () => ({ final: true, reply: replies.shift() ?? 'TERMINATE' }));
    bot.registerReply(ConversableAgent, () => ({ final: true, reply: replies.shift() ?? 'TERMINATE' }));
    const result = await user.initiateChat(bot, { message: 'start' });
    expect(human.prompts).toEqual([
      "Please give feedback to bot. Press enter or type 'exit' to stop the conversation: ",
      "Please give feedback to bot. Press enter or type 'exit' to stop the conversation: ",
    ]);
    expect(result.chatHistory.map((message) => message.content)).toEqual([
      'start',
      'working',
      '',
      'TERMINATE',
      'keep going',
      'TERMINATE',
    ]);
    expect(result.terminationReason).toBe('termination-message');
  });

  it('answers pending tool calls with USER INTERRUPTED when a human replies', async () => {
    const human = new ScriptedHumanInput(['stop that']);
    const user = new ConversableAgent({
      name: 'user',
      humanInputMode: 'ALWAYS',
      humanInput: human,
      ...quiet,
    });
    const reply = await user.generateReply({
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
      sender: agent('bot'),
    });
    expect(reply).toEqual({
      role: 'user',
      content: 'stop that',
      tool_responses: [{ role: 'tool', tool_call_id: 'call_1', content: 'USER INTERRUPTED' }],
    });
  });
});

describe('initiateChat', () => {
  it('maxTurns gives at most 2N messages', async () => {
    let count = 0;
    const a = agent('a');
    const b = agent('b');
    a.registerReply(ConversableAgent, () => ({ final: true, reply: `a${++count}` }));
    b.registerReply(ConversableAgent, () => ({ final: true, reply: `b${++count}` }));
    const result = await a.initiateChat(b, { message: 'start', maxTurns: 3 });
    expect(result.chatHistory).toHaveLength(6);
    expect(result.terminationReason).toBe('max-turns');
  });

  it('appends carryover as AutoGen does', async () => {
    const a = agent('a');
    const b = agent('b', { maxConsecutiveAutoReply: 0 });
    let result = await a.initiateChat(b, { message: 'Task2', carryover: ['Extra', 'summary one'] });
    expect(result.chatHistory[0]?.content).toBe('Task2\nContext: \nExtra\nsummary one');
    result = await a.initiateChat(b, { message: 'Task', carryover: 'one' });
    expect(result.chatHistory[0]?.content).toBe('Task\nContext: \none');
    result = await a.initiateChat(b, { message: 'Task', carryover: [] });
    expect(result.chatHistory[0]?.content).toBe('Task');
    await expect(a.initiateChat(b, { message: 'Task', carryover: 42 as never })).rejects.toBeInstanceOf(
      InvalidCarryoverError,
    );
  });

  it('summarises with last_msg (TERMINATE removed), a function, null and reflection_with_llm', async () => {
    const a = agent('a');
    const b = agent('b', { defaultAutoReply: 'The answer is 42. TERMINATE', maxConsecutiveAutoReply: 1 });
    expect((await a.initiateChat(b, { message: 'q', maxTurns: 1 })).summary).toBe('The answer is 42. ');
    expect((await a.initiateChat(b, { message: 'q', maxTurns: 1, summaryMethod: null })).summary).toBe('');
    const viaFunction = await a.initiateChat(b, {
      message: 'q',
      maxTurns: 1,
      summaryMethod: (sender, recipient) => `${sender.name}->${recipient.name}`,
    });
    expect(viaFunction.summary).toBe('a->b');
    const model = new ScriptedModelClient({ replies: ['reply from model', 'a short summary'] });
    const smart = agent('smart', { llmConfig: { modelClient: model } });
    const reflected = await a.initiateChat(smart, {
      message: 'q',
      maxTurns: 1,
      summaryMethod: 'reflection_with_llm',
    });
    expect(reflected.summary).toBe('a short summary');
    expect(model.requests[1]?.messages.at(-1)).toEqual({
      role: 'system',
      content: 'Summarize the takeaway from the conversation. Do not add any introductory phrases.',
    });
    expect(reflected.cost.usageIncludingCachedInference.models['scripted']?.totalTokens).toBeGreaterThan(0);
  });

  it('rejects an unknown summary method and reflection without a model', async () => {
    const a = agent('a');
    const b = agent('b');
    await expect(a.initiateChat(b, { message: 'x', summaryMethod: 'nope' as never })).rejects.toThrow(
      /summaryMethod must be 'last_msg', 'reflection_with_llm', a function, or null\./,
    );
    await expect(a.initiateChat(b, { message: 'x', summaryMethod: 'reflection_with_llm' })).rejects.toThrow(
      /A model client must be set on the recipient or the sender when summaryMethod is 'reflection_with_llm'/,
    );
  });

  it('stops cleanly between turns when the signal is aborted', async () => {
    const controller = new AbortController();
    let turns = 0;
    const a = agent('a');
    const b = agent('b');
    b.registerReply(ConversableAgent, () => {
      turns += 1;
      if (turns === 3) controller.abort();
      return { final: true, reply: `b${turns}` };
    });
    a.registerReply(ConversableAgent, () => ({ final: true, reply: 'a' }));
    const result = await a.initiateChat(b, { message: 'go', signal: controller.signal });
    expect(result.terminationReason).toBe('aborted');
    expect(turns).toBe(3);
    expect(result.chatHistory.at(-1)?.content).toBe('b3');
  });
});

describe('messages and history', () => {
  it('rejects an invalid message and leaves every history unchanged', async () => {
    const a = agent('a');
    const b = agent('b', { maxConsecutiveAutoReply: 0 });
    await a.send('first', b, { requestReply: false });
    await expect(a.send({ content: null }, b)).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(a.send({ content: 5 as never }, b)).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(b.receive({ role: 'user' }, a)).rejects.toThrow(
      "Received message can't be converted into a valid ChatCompletion message. Either content or tool_calls must be provided.",
    );
    expect(a.chatMessages.get(b)).toEqual([{ role: 'assistant', content: 'first', name: 'a' }]);
    expect(b.chatMessages.get(a)).toEqual([{ role: 'user', content: 'first', name: 'a' }]);
  });

  it('stores tool calls as assistant messages without a name, and keeps tool roles and their sender', async () => {
    const a = agent('a');
    const b = agent('b');
    const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    await a.send({ content: null, tool_calls: [call], name: 'ignored' }, b, { requestReply: false });
    expect(b.chatMessages.get(a)).toEqual([{ role: 'assistant', content: null, tool_calls: [call] }]);
    await a.send({ role: 'tool', tool_call_id: 'c1', content: '1' }, b, { requestReply: false });
    expect(b.chatMessages.get(a)?.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'c1',
      content: '1',
      name: 'a',
    });
    for (const message of b.chatMessages.get(a) ?? [])
      expect(messageSchema.safeParse(message).success).toBe(true);
  });

  it('lastMessage follows AutoGen: none, one conversation, several, unknown', async () => {
    const a = agent('a');
    const b = agent('b');
    const c = agent('c');
    expect(a.lastMessage()).toBeUndefined();
    await a.send('to b', b, { requestReply: false });
    expect(a.lastMessage()?.content).toBe('to b');
    await a.send('to c', c, { requestReply: false });
    expect(() => a.lastMessage()).toThrow(ConversationNotFoundError);
    expect(a.lastMessage(c)?.content).toBe('to c');
    expect(() => a.lastMessage(agent('stranger'))).toThrow(/not present in any conversation/);
  });

  it('clearHistory keeps the last N messages without splitting a tool call from its answer', () => {
    const a = agent('a');
    const b = agent('b');
    const history: Message[] = [
      { role: 'user', content: '1' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', content: 'r', tool_responses: [{ role: 'tool', tool_call_id: 'x', content: 'r' }] },
      { role: 'user', content: '4' },
    ];
    a.chatMessages.set(b, [...history]);
    a.clearHistory(undefined, { preserve: 2 });
    expect(a.chatMessages.get(b)).toEqual(history.slice(1));
    a.clearHistory(b);
    expect(a.chatMessages.get(b)).toEqual([]);
  });

  it('hooks change the last received message, all messages, and outgoing messages', async () => {
    const model = new ScriptedModelClient({ replies: ['ok'] });
    const a = agent('a', { llmConfig: { modelClient: model } });
    a.registerHook('processLastReceivedMessage', (content) => content.toUpperCase());
    a.registerHook('processAllMessagesBeforeReply', (messages) => [
      { role: 'user', content: 'injected' },
      ...messages,
    ]);
    const b = agent('b');
    b.registerHook('processMessageBeforeSend', ({ message }) => `${String(message)}!`);
    await b.send('hello', a, { requestReply: true });
    expect(model.requests[0]?.messages.map((message) => message.content)).toEqual([
      'You are a helpful AI Assistant.',
      'injected',
      'HELLO!',
    ]);
    expect(() => a.registerHook('nope' as never, (() => '') as never)).toThrow(/not a hookable method/);
    const hook = (content: string) => content;
    a.registerHook('processLastReceivedMessage', hook);
    expect(() => a.registerHook('processLastReceivedMessage', hook)).toThrow(/already registered/);
  });

  it('emits typed events', async () => {
    const a = agent('a');
    const b = agent('b', { defaultAutoReply: 'TERMINATE' });
    const events: string[] = [];
    a.on('message-sent', ({ message }) => events.push(`sent:${message.content}`));
    a.on('message-received', ({ message }) => events.push(`received:${message.content}`));
    a.on('chat-terminated', ({ reason }) => events.push(`end:${reason}`));
    b.on('reply-generated', ({ reply }) => events.push(`reply:${String(reply)}`));
    await a.initiateChat(b, { message: 'go' });
    expect(events).toEqual(['sent:go', 'reply:TERMINATE', 'received:TERMINATE', 'end:termination-message']);
  });
});

describe('regressions', () => {
  it('sends a human answer given over pending tool calls to the model after the tool answers', async () => {
    const model = new ScriptedModelClient({ replies: ['ok'] });
    const bot = agent('bot', { llmConfig: { modelClient: model } });
    const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    await bot.generateReply({
      messages: [
        { role: 'assistant', content: null, tool_calls: [call] },
        {
          role: 'user',
          content: 'please use celsius',
          name: 'user',
          tool_responses: [{ role: 'tool', tool_call_id: 'c1', content: 'USER INTERRUPTED' }],
        },
      ],
    });
    expect(model.requests[0]?.messages.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'c1', content: 'USER INTERRUPTED' },
      { role: 'user', content: 'please use celsius', name: 'user' },
    ]);
  });

  it('a nested chat that ends does not end the outer chat', async () => {
    const user = agent('user');
    const writer = agent('writer', { defaultAutoReply: 'draft' });
    const critic = agent('critic', { defaultAutoReply: 'TERMINATE' });
    writer.registerNestedChats([{ recipient: critic, message: 'review this', maxTurns: 2 }], {
      trigger: user,
    });
    user.registerReply(ConversableAgent, () => ({ final: true, reply: 'more' }));
    const result = await user.initiateChat(writer, { message: 'write', maxTurns: 3 });
    expect(result.terminationReason).toBe('max-turns');
    expect(result.chatHistory).toHaveLength(6);
  });

  it('an abort during a model call ends the chat as aborted instead of throwing', async () => {
    const controller = new AbortController();
    const model = new ScriptedModelClient({
      replies: (request) =>
        new Promise((_resolve, reject) => {
          request.signal?.addEventListener('abort', () => reject(request.signal?.reason), { once: true });
          setTimeout(() => controller.abort(), 20);
        }),
    });
    const bot = agent('bot', { llmConfig: { modelClient: model } });
    const result = await agent('user').initiateChat(bot, { message: 'hi', signal: controller.signal });
    expect(result.terminationReason).toBe('aborted');
    expect(result.chatHistory).toHaveLength(1);
  });

  it('keeps human input per conversation partner', async () => {
    const human = new ScriptedHumanInput(['exit', 'exit']);
    const user = new ConversableAgent({
      name: 'user',
      humanInputMode: 'ALWAYS',
      humanInput: human,
      ...quiet,
    });
    const first = agent('first', { defaultAutoReply: 'one' });
    const second = agent('second', { defaultAutoReply: 'two' });
    const [a, b] = await Promise.all([
      user.initiateChat(first, { message: 'x' }),
      user.initiateChat(second, { message: 'y' }),
    ]);
    expect(a.humanInput).toEqual(['exit']);
    expect(b.humanInput).toEqual(['exit']);
  });

  it('drops an empty tool_calls array, which the API would reject', async () => {
    const a = agent('a');
    const b = agent('b');
    await a.send({ content: 'hi', tool_calls: [] }, b, { requestReply: false });
    expect(b.chatMessages.get(a)).toEqual([{ role: 'user', content: 'hi', name: 'a' }]);
  });
});

describe('agent defaults', () => {
  it('AssistantAgent and UserProxyAgent use AutoGen defaults', () => {
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: [] }) },
    });
    expect(assistant.humanInputMode).toBe('NEVER');
    expect(assistant.systemMessage).toMatch(/TERMINATE/);
    expect(assistant.systemMessage).toMatch(/# filename:/);
    expect(assistant.description).toMatch(/general-purpose AI assistant/);
    const user = new UserProxyAgent({ name: 'user' });
    expect(user.humanInputMode).toBe('ALWAYS');
    expect(user.llmConfig).toBe(false);
    expect(user.systemMessage).toBe('');
    expect(user.description).toMatch(/attentive HUMAN user/);
    expect(new UserProxyAgent({ name: 'u', humanInputMode: 'NEVER' }).description).toMatch(
      /computer terminal/,
    );
    expect(new ConversableAgent({ name: 'c' }).description).toBe('You are a helpful AI Assistant.');
  });

  it('explains bad options', () => {
    expect(() => new ConversableAgent({ name: '' })).toThrow(/needs a name/);
    expect(() => new ConversableAgent({ name: 'x', llmConfig: {} })).toThrow(/llmConfig needs a model/);
    expect(
      () =>
        new ConversableAgent({
          name: 'x',
          codeExecutionConfig: { executor: {} as never, lastNMessages: -1 },
        }),
    ).toThrow("lastNMessages must be either a non-negative integer, or the string 'auto'.");
    expect(() => new ConversableAgent({ name: 'x', functionMap: { 'bad name': () => 1 } })).toThrow(
      "Invalid name: bad name. Only letters, numbers, '_' and '-' are allowed.",
    );
  });
});
