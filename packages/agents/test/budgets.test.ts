import {
  AssistantAgent,
  defineTool,
  GroupChat,
  GroupChatManager,
  initiateChats,
  type LlmConfig,
  registerFunction,
  UnknownModelPriceError,
  UserProxyAgent,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OpenAITestServer, type Script, useOpenAITestServers } from './support/openai-test-server.js';

const server = useOpenAITestServers();

/** Every answer uses 40 prompt and 20 completion tokens. */
const sixtyTokens: Script = (_request, index) => ({
  content: `answer ${index + 1}`,
  usage: { prompt_tokens: 40, completion_tokens: 20 },
});

function config(model: OpenAITestServer, extra: Record<string, unknown> = {}): LlmConfig {
  return {
    configList: [{ model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'sk-test', ...extra }],
    cacheSeed: null,
    maxRetries: 0,
  };
}

function assistant(model: OpenAITestServer, name = 'assistant', extra: Record<string, unknown> = {}) {
  return new AssistantAgent({ name, llmConfig: config(model, extra), silent: true });
}

function user(): UserProxyAgent {
  return new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: false,
    defaultAutoReply: 'continue',
    silent: true,
  });
}

describe('budgets on initiateChat', () => {
  it('ends the chat before the model call that would go past maxTokens, naming the budget and the usage', async () => {
    const model = await server(sixtyTokens);
    const person = user();
    const endings: string[] = [];
    person.on('chat-terminated', ({ reason, detail }) => endings.push(`${reason}: ${detail}`));
    const result = await person.initiateChat(assistant(model), {
      message: 'hi',
      maxTokens: 100,
      silent: true,
    });

    expect(model.requests).toHaveLength(2);
    expect(result.terminationReason).toBe('budget-exceeded');
    expect(result.budgetExceeded).toMatchObject({
      budget: 'maxTokens',
      limit: 100,
      usage: { tokens: 120 },
    });
    // gpt-4o-mini: $0.15 and $0.60 per million tokens, two answers of 40 + 20 tokens.
    expect(result.budgetExceeded?.usage.costUsd).toBeCloseTo(0.000036, 12);
    expect(result.chatHistory.map((message) => message.content)).toEqual([
      'hi',
      'answer 1',
      'continue',
      'answer 2',
      'continue',
    ]);
    expect(endings).toHaveLength(1);
    expect(endings[0]).toMatch(
      /^budget-exceeded: The maxTokens budget \(100\) is used up: 120 tokens, \$0\.000036, \d+ ms so far\.$/,
    );
  });

  it('counts cost with the config price and stops at maxCostUsd', async () => {
    const model = await server(sixtyTokens);
    // $1 per 1,000 prompt tokens and $2 per 1,000 completion tokens: each answer costs $0.08.
    const result = await user().initiateChat(
      assistant(model, 'assistant', { model: 'my-local-model', price: [1, 2] }),
      {
        message: 'hi',
        maxCostUsd: 0.2,
        silent: true,
      },
    );
    expect(model.requests).toHaveLength(3);
    expect(result.terminationReason).toBe('budget-exceeded');
    expect(result.budgetExceeded?.budget).toBe('maxCostUsd');
    expect(result.budgetExceeded?.usage.costUsd).toBeCloseTo(0.24, 10);
  });

  it('refuses a cost budget at the start when a model has no known price, naming the price option', async () => {
    const model = await server(sixtyTokens);
    const chat = user().initiateChat(assistant(model, 'local', { model: 'my-local-model' }), {
      message: 'hi',
      maxCostUsd: 1,
      silent: true,
    });
    await expect(chat).rejects.toThrow(UnknownModelPriceError);
    await expect(chat).rejects.toThrow(
      `maxCostUsd needs the price of every model, and hopgen does not know the price of "my-local-model" (agent 'local'). Give its configList entry a \`price\`: [prompt, completion] in US dollars per 1,000 tokens, or drop maxCostUsd.`,
    );
    expect(model.requests).toHaveLength(0);
  });

  it('stops at maxDurationMs before the next model call', async () => {
    const model = await server((_request, index) =>
      index === 0 ? { toolCalls: [{ id: 'call_wait', name: 'wait', arguments: '{}' }] } : { content: 'done' },
    );
    const agent = assistant(model);
    const person = user();
    registerFunction(
      defineTool({
        name: 'wait',
        description: 'Takes its time',
        parameters: z.object({}),
        execute: () => new Promise((resolve) => setTimeout(() => resolve('waited'), 2_500)),
      }),
      { caller: agent, executor: person },
    );
    const result = await person.initiateChat(agent, { message: 'hi', maxDurationMs: 2_000, silent: true });
    expect(model.requests).toHaveLength(1);
    expect(result.terminationReason).toBe('budget-exceeded');
    expect(result.budgetExceeded?.budget).toBe('maxDurationMs');
    expect(result.budgetExceeded!.usage.durationMs).toBeGreaterThanOrEqual(2_000);
  });

  it('checks between turns with maxTurns, and skips a model-written summary once the budget is gone', async () => {
    const model = await server(sixtyTokens);
    const result = await user().initiateChat(assistant(model), {
      message: 'hi',
      maxTurns: 5,
      maxTokens: 60,
      summaryMethod: 'reflection_with_llm',
      silent: true,
    });
    expect(model.requests).toHaveLength(1);
    expect(result.terminationReason).toBe('budget-exceeded');
    expect(result.summary).toBe('');
  });
});

describe('budgets on group chats and plans', () => {
  it('ends a group chat run between rounds when maxTokens is used up', async () => {
    const model = await server(sixtyTokens);
    const members = [assistant(model, 'alice'), assistant(model, 'bob'), assistant(model, 'carol')];
    const groupchat = new GroupChat({
      agents: members,
      messages: [],
      maxRound: 10,
      speakerSelectionMethod: 'round_robin',
    });
    const manager = new GroupChatManager({ name: 'manager', groupchat, llmConfig: false, silent: true });
    const result = await members[0]!.initiateChat(manager, {
      message: 'start',
      maxTokens: 150,
      silent: true,
    });
    expect(model.requests).toHaveLength(3);
    expect(result.terminationReason).toBe('budget-exceeded');
    expect(result.budgetExceeded).toMatchObject({ budget: 'maxTokens', limit: 150, usage: { tokens: 180 } });
  });

  it('gives initiateChats one budget for the whole plan: chats left when it is used up end at once', async () => {
    const model = await server(sixtyTokens);
    const sender = user();
    const results = await initiateChats(
      ['first', 'second', 'third'].map((message, index) => ({
        sender,
        recipient: assistant(model, `helper_${index}`),
        message,
        maxTurns: 1,
        silent: true,
      })),
      { maxTokens: 100 },
    );
    expect(model.requests).toHaveLength(2);
    expect(results.map((result) => result.terminationReason)).toEqual([
      'max-turns',
      'max-turns',
      'budget-exceeded',
    ]);
    expect(results[2]!.chatHistory).toEqual([]);
    expect(results[2]!.budgetExceeded).toMatchObject({
      budget: 'maxTokens',
      limit: 100,
      usage: { tokens: 120 },
    });
  });
});
