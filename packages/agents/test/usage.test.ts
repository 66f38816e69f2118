import {
  AssistantAgent,
  gatherUsageSummary,
  InMemoryResponseCache,
  OpenAIChatClient,
  printUsageSummary,
  UserProxyAgent,
} from '@hopgen/agents';
import { computeCost, UsageTracker } from '@hopgen/agents/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { knownModelPrice } from '../src/model-clients/prices.js';
import { formatUsageSummary } from '../src/model-clients/usage-summary.js';
import { type OpenAITestServer, type Script, startOpenAITestServer } from './support/openai-test-server.js';

const servers: OpenAITestServer[] = [];
async function serve(script: Script): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer(script);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const hello = [{ role: 'user' as const, content: 'Hello' }];

describe('prices and cost', () => {
  it('prices known OpenAI models per 1M tokens, dated snapshots like their family', () => {
    expect(knownModelPrice('gpt-4o')).toEqual([2.5, 10]);
    expect(knownModelPrice('gpt-4o-mini-2024-07-18')).toEqual([0.15, 0.6]);
    expect(knownModelPrice('gpt-4o-2024-05-13')).toEqual([5, 15]);
    expect(knownModelPrice('gpt-4.1-nano-2025-04-14')).toEqual([0.1, 0.4]);
    expect(knownModelPrice('gpt-5-mini')).toEqual([0.25, 2]);
    expect(knownModelPrice('llama3.2')).toBeUndefined();
    expect(computeCost(['gpt-4.1'], 1_000_000, 1_000_000)).toBeCloseTo(10, 10);
  });

  it('uses the per-config price (per 1K tokens) before the table, and null when nothing is known', () => {
    expect(computeCost(['gpt-4o'], 1000, 500, [0.01, 0.03])).toBeCloseTo(0.025, 12);
    expect(computeCost(['my-model'], 1000, 500)).toBeNull();
    // The model asked for is tried when the answering model is unknown (e.g. a deployment name).
    expect(computeCost(['deployment-7', 'gpt-4o-mini'], 1_000_000, 0)).toBeCloseTo(0.15, 10);
  });

  it('counts tokens of an unknown model and reports its cost as unknown', async () => {
    const server = await serve(() => ({
      content: 'hi',
      model: 'llama3.2:1b',
      usage: { prompt_tokens: 30, completion_tokens: 5 },
    }));
    const chat = new OpenAIChatClient({
      configList: [{ model: 'llama3.2:1b', baseURL: server.baseURL }],
      cacheSeed: null,
    });
    const response = await chat.create({ messages: hello });
    expect(response.usage).toEqual({ promptTokens: 30, completionTokens: 5, totalTokens: 35, cost: null });
    const summary = chat.usage().usageExcludingCachedInference;
    expect(summary.totalCost).toBeNull();
    expect(summary.models['llama3.2:1b']).toEqual({
      promptTokens: 30,
      completionTokens: 5,
      totalTokens: 35,
      cost: null,
    });
  });

  it('applies a config price override to a local model', async () => {
    const server = await serve(() => ({
      content: 'hi',
      usage: { prompt_tokens: 2000, completion_tokens: 1000 },
    }));
    const chat = new OpenAIChatClient({
      configList: [{ model: 'qwen2.5', baseURL: server.baseURL, price: [0.001, 0.002] }],
      cacheSeed: null,
    });
    const response = await chat.create({ messages: hello });
    expect(response.usage.cost).toBeCloseTo(0.004, 12);
    chat.clearUsage();
    expect(chat.usage().usageIncludingCachedInference).toEqual({ totalCost: 0, models: {} });
  });
});

describe('gatherUsageSummary and printUsageSummary', () => {
  it('adds up the agents of a chat, counting a shared client once', async () => {
    const server = await serve(() => ({
      content: 'ok',
      usage: { prompt_tokens: 100, completion_tokens: 10 },
    }));
    const config = {
      configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }],
      cacheSeed: null,
    };
    const shared = new OpenAIChatClient(config);
    const a = new AssistantAgent({ name: 'a', llmConfig: { modelClient: shared } });
    const b = new AssistantAgent({ name: 'b', llmConfig: { modelClient: shared } });
    const c = new AssistantAgent({ name: 'c', llmConfig: config });
    const user = new UserProxyAgent({ name: 'user' });
    await shared.create({ messages: hello });
    await c.modelClient!.create({ messages: hello });
    const report = gatherUsageSummary([a, b, c, user]);
    expect(report.usageExcludingCachedInference.models['gpt-4o']).toEqual({
      promptTokens: 200,
      completionTokens: 20,
      totalTokens: 220,
      cost: expect.closeTo((200 * 2.5 + 20 * 10) / 1e6, 12),
    });
    expect(report.usageExcludingCachedInference.totalCost).toBeCloseTo((200 * 2.5 + 20 * 10) / 1e6, 12);
    expect(gatherUsageSummary([user]).usageIncludingCachedInference).toEqual({ totalCost: 0, models: {} });
  });

  it('puts the usage of both agents into ChatResult.cost', async () => {
    const server = await serve(() => ({
      content: 'TERMINATE',
      usage: { prompt_tokens: 40, completion_tokens: 4 },
    }));
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: {
        configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'k' }],
        cacheSeed: null,
      },
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER' });
    const result = await user.initiateChat(assistant, { message: 'Say TERMINATE', silent: true });
    expect(server.requests).toHaveLength(1);
    expect(result.cost.usageExcludingCachedInference.models['gpt-4o-mini']).toMatchObject({
      promptTokens: 40,
      completionTokens: 4,
      totalTokens: 44,
    });
    expect(result.cost.usageIncludingCachedInference.totalCost).toBeCloseTo((40 * 0.15 + 4 * 0.6) / 1e6, 12);
  });

  it("prints AutoGen's format", () => {
    const tracker = new UsageTracker();
    tracker.record('m1', { promptTokens: 3, completionTokens: 2, totalTokens: 5, cost: 1 }, false);
    tracker.record('m2', { promptTokens: 9, completionTokens: 6, totalTokens: 15, cost: 1.5 }, false);
    const rule = '-'.repeat(100);
    expect(formatUsageSummary(tracker.report())).toEqual([
      rule,
      'Usage summary excluding cached usage: ',
      'Total cost: 2.5',
      "* Model 'm1': cost: 1, prompt_tokens: 3, completion_tokens: 2, total_tokens: 5",
      "* Model 'm2': cost: 1.5, prompt_tokens: 9, completion_tokens: 6, total_tokens: 15",
      '',
      'All completions are non-cached: the total cost with cached completions is the same as actual cost.',
      rule,
    ]);
    tracker.record('m2', { promptTokens: 9, completionTokens: 6, totalTokens: 15, cost: 1.5 }, true);
    expect(formatUsageSummary(tracker.report(), 'total')).toEqual([
      rule,
      'Usage summary including cached usage: ',
      'Total cost: 4',
      "* Model 'm1': cost: 1, prompt_tokens: 3, completion_tokens: 2, total_tokens: 5",
      "* Model 'm2': cost: 3, prompt_tokens: 18, completion_tokens: 12, total_tokens: 30",
      rule,
    ]);
    expect(formatUsageSummary(tracker.report())).toContain('Usage summary including cached usage: ');
  });

  it('prints per agent, rounds to 5 decimals, and says when everything came from the cache', async () => {
    const server = await serve(() => ({
      content: 'ok',
      usage: { prompt_tokens: 1234, completion_tokens: 567 },
    }));
    const cache = new InMemoryResponseCache();
    const llmConfig = { configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }], cache };
    await new OpenAIChatClient(llmConfig).create({ messages: hello });
    const assistant = new AssistantAgent({ name: 'assistant', llmConfig });
    await assistant.modelClient!.create({ messages: hello });
    const user = new UserProxyAgent({ name: 'user' });
    const lines: string[] = [];
    printUsageSummary([assistant, user], { print: (line) => lines.push(line) });
    const cost = Math.round(((1234 * 2.5 + 567 * 10) / 1e6) * 1e5) / 1e5;
    expect(lines).toEqual([
      "Agent 'assistant':",
      '-'.repeat(100),
      'No actual cost incurred (all completions are using cache).',
      '',
      'Usage summary including cached usage: ',
      `Total cost: ${cost}`,
      `* Model 'gpt-4o': cost: ${cost}, prompt_tokens: 1234, completion_tokens: 567, total_tokens: 1801`,
      '-'.repeat(100),
      "No cost incurred from agent 'user'.",
    ]);
    expect(String(cost)).toBe('0.00876');
  });

  it('says when nothing was called yet and prints unknown costs as unknown', () => {
    const tracker = new UsageTracker();
    expect(formatUsageSummary(tracker.report())).toEqual(['No usage summary. Please call "create" first.']);
    tracker.record('local', { promptTokens: 1, completionTokens: 1, totalTokens: 2, cost: null }, false);
    expect(formatUsageSummary(tracker.report(), ['actual'])).toContain('Total cost: unknown');
    expect(() => formatUsageSummary(tracker.report(), [])).toThrow(/Invalid mode/);
  });
});
