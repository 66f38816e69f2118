import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import {
  AssistantAgent,
  InMemoryResponseCache,
  type Message,
  UnknownModelPriceError,
  UserProxyAgent,
} from '@hopgen/agents';
import { AiSdkChatClient } from '@hopgen/ai-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import {
  type AnthropicTestServer,
  type ScriptedAnswer,
  startAnthropicTestServer,
  TEST_API_KEY,
} from './support/anthropic-test-server.js';

/** AiSdkChatClient's structured output and cost-budget checks, on the wire through the real provider packages. */

const servers: (AnthropicTestServer | OpenAITestServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const Forecast = z.object({ city: z.string(), days: z.number().int().min(1).max(7) });
const FORECAST_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};
const ISSUES =
  'Your reply does not match the required JSON schema:\n- days: Too big: expected number to be <=7\nReply again with only the corrected JSON.';

async function anthropicServer(answers: ScriptedAnswer[]): Promise<AnthropicTestServer> {
  const server = await startAnthropicTestServer((_request, index) => answers[index] ?? { text: 'no more' });
  servers.push(server);
  return server;
}

function forecaster(client: AiSdkChatClient, stream = false): AssistantAgent {
  return new AssistantAgent({
    name: 'forecaster',
    llmConfig: { modelClient: client, stream },
    responseFormat: { schema: Forecast, name: 'forecast' },
    silent: true,
  });
}

const askLima = { messages: [{ role: 'user' as const, content: 'Forecast for Lima', name: 'user' }] };

describe('AiSdkChatClient responseFormat', () => {
  it.each([
    false,
    true,
  ])('sends the schema to Anthropic, sends a failing reply back with its issues, and parses the good one (stream: %s)', async (stream) => {
    const server = await anthropicServer([
      { text: '{"city": "Lima", "days": 9}' },
      { text: stream ? ['{"city": "Lima", ', '"days": 5}'] : '{"city": "Lima", "days": 5}' },
    ]);
    const provider = createAnthropic({ baseURL: server.baseURL, apiKey: TEST_API_KEY });
    const client = new AiSdkChatClient({
      configList: [{ languageModel: provider('claude-sonnet-4-5'), price: [0.003, 0.015] }],
      cacheSeed: null,
    });

    const reply = (await forecaster(client, stream).generateReply(askLima)) as Message;

    expect(server.requests).toHaveLength(2);
    // claude-sonnet-4-5 takes the schema natively, as Anthropic's output format; the provider turns
    // the bounds Anthropic does not enforce into words (hopgen's validation still enforces them).
    expect(server.requests[0]!.body.output_config).toEqual({
      format: {
        type: 'json_schema',
        schema: {
          ...FORECAST_SCHEMA,
          properties: {
            city: { type: 'string' },
            days: { type: 'integer', description: 'minimum: 1; maximum: 7.' },
          },
        },
      },
    });
    expect(server.requests.map((request) => request.body.stream ?? false)).toEqual([stream, stream]);
    expect(server.requests[1]!.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: '{"city": "Lima", "days": 9}' }] },
      { role: 'user', content: [{ type: 'text', text: ISSUES }] },
    ]);
    expect(reply).toEqual({
      role: 'assistant',
      content: '{"city": "Lima", "days": 5}',
      parsed: { city: 'Lima', days: 5 },
    });
  });

  it("sends OpenAI's response_format through @ai-sdk/openai, and caches answers per schema", async () => {
    const server = await startOpenAITestServer([
      { content: '{"city": "Lima", "days": 5}' },
      { content: 'free text' },
    ]);
    servers.push(server);
    const openai = createOpenAI({ baseURL: server.baseURL, apiKey: 'sk-test' });
    const client = new AiSdkChatClient({
      configList: [{ languageModel: openai.chat('gpt-4o-mini') }],
      cache: new InMemoryResponseCache(),
    });

    const first = (await forecaster(client).generateReply(askLima)) as Message;
    const again = (await forecaster(client).generateReply(askLima)) as Message;
    const free = await client.create({ messages: [{ role: 'user', content: 'Forecast for Lima' }] });

    expect(server.requests[0]!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'forecast', schema: FORECAST_SCHEMA, strict: true },
    });
    expect(first.parsed).toEqual({ city: 'Lima', days: 5 });
    expect(again.parsed).toEqual({ city: 'Lima', days: 5 });
    // The second structured call came from the cache; the free-text request was not served the JSON.
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.body.response_format).toBeUndefined();
    expect(free.message.content).toBe('free text');
  });
});

describe('AiSdkChatClient unpricedModels', () => {
  it('lists the configs with neither a price nor a price hopgen knows', async () => {
    const anthropic = createAnthropic({ baseURL: 'http://127.0.0.1:9/v1', apiKey: TEST_API_KEY });
    const openai = createOpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-test' });
    const client = new AiSdkChatClient({
      configList: [
        { languageModel: anthropic('claude-sonnet-4-5') },
        { languageModel: anthropic('claude-haiku-4-5'), price: [0.001, 0.005] },
        { languageModel: openai.chat('gpt-4o-mini') },
        { languageModel: openai.chat('my-finetune'), model: 'gpt-4o-2024-08-06' },
      ],
      cacheSeed: null,
    });
    expect(client.unpricedModels()).toEqual(['claude-sonnet-4-5']);
  });

  it('makes a cost budget fail at the start, naming the price option, before any model call', async () => {
    const server = await anthropicServer([{ text: 'hello' }]);
    const provider = createAnthropic({ baseURL: server.baseURL, apiKey: TEST_API_KEY });
    const client = new AiSdkChatClient({
      configList: [{ languageModel: provider('claude-sonnet-4-5') }],
      cacheSeed: null,
    });
    const assistant = new AssistantAgent({
      name: 'claude',
      llmConfig: { modelClient: client },
      silent: true,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      codeExecutionConfig: false,
      silent: true,
    });

    const chat = user.initiateChat(assistant, { message: 'hi', maxCostUsd: 1, silent: true });

    await expect(chat).rejects.toThrow(UnknownModelPriceError);
    await expect(chat).rejects.toThrow(
      `maxCostUsd needs the price of every model, and hopgen does not know the price of "claude-sonnet-4-5" (agent 'claude'). Give its configList entry a \`price\`: [prompt, completion] in US dollars per 1,000 tokens, or drop maxCostUsd.`,
    );
    expect(server.requests).toHaveLength(0);
  });
});
