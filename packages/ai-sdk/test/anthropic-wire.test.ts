import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import {
  AllConfigsFailedError,
  AssistantAgent,
  contentToString,
  defineTool,
  registerFunction,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';
import { AiSdkChatClient, type AiSdkModelConfig } from '@hopgen/ai-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import {
  type AnthropicTestServer,
  type RecordedRequest,
  type ScriptedAnswer,
  startAnthropicTestServer,
  TEST_API_KEY,
} from './support/anthropic-test-server.js';

const servers: (AnthropicTestServer | OpenAITestServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const silent: TranscriptRenderer = { messageReceived: () => undefined, notice: () => undefined };

const weatherCalls: string[] = [];
const weather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    weatherCalls.push(city);
    return { city, sky: 'sunny', celsius: 21 };
  },
});

async function anthropicServer(script: (request: RecordedRequest, index: number) => ScriptedAnswer) {
  const server = await startAnthropicTestServer(script);
  servers.push(server);
  const provider = createAnthropic({ baseURL: server.baseURL, apiKey: TEST_API_KEY });
  const config: AiSdkModelConfig = { languageModel: provider('claude-sonnet-4-5'), price: [0.003, 0.015] };
  return { server, config };
}

/** The last message block Anthropic was sent. */
function lastContent(request: RecordedRequest): any[] {
  const content = request.body.messages.at(-1).content;
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/** Answers with a tool use first, then with text once the tool result has come back. */
function weatherScript(text: string | string[]) {
  return (request: RecordedRequest): ScriptedAnswer =>
    lastContent(request).some((block) => block.type === 'tool_result')
      ? { text, usage: { input_tokens: 80, output_tokens: 12 } }
      : {
          toolUses: [{ id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }],
          usage: { input_tokens: 50, output_tokens: 8 },
        };
}

function weatherPair(config: AiSdkModelConfig, stream = false) {
  const client = new AiSdkChatClient({ configList: [config], cacheSeed: null, retryBaseDelayMs: 1 });
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: { modelClient: client, stream },
    renderer: silent,
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    renderer: silent,
  });
  registerFunction(weather, { caller: assistant, executor: user });
  return { client, assistant, user };
}

describe('AiSdkChatClient with @ai-sdk/anthropic against a fake Anthropic Messages API', () => {
  it('makes a tool-call round trip: tool_use, the tool runs, tool_result goes back, the model answers', async () => {
    weatherCalls.length = 0;
    const { server, config } = await anthropicServer(weatherScript('It is sunny in Paris. TERMINATE'));
    const { client, assistant, user } = weatherPair(config);

    const result = await user.initiateChat(assistant, { message: 'What is the weather in Paris?' });

    expect(weatherCalls).toEqual(['Paris']);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first!.body.system).toEqual([
      { type: 'text', text: expect.stringContaining('You are a helpful AI assistant') },
    ]);
    expect(first!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] },
    ]);
    expect(first!.body.tools).toEqual([
      expect.objectContaining({
        name: 'get_weather',
        description: 'Current weather of a city',
        input_schema: expect.objectContaining({ type: 'object', required: ['city'] }),
      }),
    ]);
    expect(second!.body.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_01',
            content: '{"city":"Paris","sky":"sunny","celsius":21}',
          },
        ],
      },
    ]);
    expect(result.chatHistory.map((message) => message.role)).toEqual([
      'assistant',
      'assistant',
      'tool',
      'user',
    ]);
    expect(result.chatHistory[1]!.tool_calls).toEqual([
      { id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    expect(contentToString(result.chatHistory.at(-1)!.content)).toBe('It is sunny in Paris. TERMINATE');
    const usage = client.usage().usageExcludingCachedInference;
    expect(usage.models['claude-sonnet-4-5']).toEqual({
      promptTokens: 130,
      completionTokens: 20,
      totalTokens: 150,
      cost: expect.closeTo((130 * 0.003 + 20 * 0.015) / 1000, 12),
    });
  });

  it('streams: text-delta events carry the fragments as they arrive, and streamed tool uses are assembled', async () => {
    weatherCalls.length = 0;
    const { server, config } = await anthropicServer(
      weatherScript(['It is ', 'sunny ', 'in Paris. ', 'TERMINATE']),
    );
    const { assistant, user } = weatherPair(config, true);
    const deltas: string[] = [];
    assistant.on('text-delta', ({ delta }) => deltas.push(delta));

    const result = await user.initiateChat(assistant, { message: 'What is the weather in Paris?' });

    expect(server.requests.map((request) => request.body.stream)).toEqual([true, true]);
    expect(weatherCalls).toEqual(['Paris']);
    expect(deltas).toEqual(['It is ', 'sunny ', 'in Paris. ', 'TERMINATE']);
    expect(contentToString(result.chatHistory.at(-1)!.content)).toBe('It is sunny in Paris. TERMINATE');
  });

  it('retries a 429 after the Retry-After the server asked for, then answers', async () => {
    const { server, config } = await anthropicServer((_request, index) =>
      index === 0
        ? {
            kind: 'error',
            status: 429,
            type: 'rate_limit_error',
            message: 'Rate limited',
            headers: { 'retry-after': '0' },
          }
        : { text: 'answer after retry' },
    );
    const client = new AiSdkChatClient({ configList: [config], cacheSeed: null, retryBaseDelayMs: 60_000 });

    // A base delay of 60 s would time the test out: the answer only comes this fast if Retry-After: 0 was honoured.
    const response = await client.create({ messages: [{ role: 'user', content: 'hi' }] });

    expect(response.message.content).toBe('answer after retry');
    expect(response.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('falls back from Anthropic to an OpenAI-compatible server when Anthropic keeps answering 429', async () => {
    const { server, config } = await anthropicServer(() => ({
      kind: 'error',
      status: 429,
      type: 'rate_limit_error',
      message: 'Rate limited',
      headers: { 'retry-after': '0' },
    }));
    const openaiServer = await startOpenAITestServer(() => ({
      content: 'answered by the fallback',
      usage: { prompt_tokens: 7, completion_tokens: 3 },
    }));
    servers.push(openaiServer);
    const openai = createOpenAI({ baseURL: openaiServer.baseURL, apiKey: 'sk-test' });
    const client = new AiSdkChatClient({
      configList: [config, { languageModel: openai.chat('gpt-4o-mini') }],
      cacheSeed: null,
      maxRetries: 1,
    });

    const response = await client.create({ messages: [{ role: 'user', content: 'hi' }] });

    expect(response.message.content).toBe('answered by the fallback');
    expect(response.configIndex).toBe(1);
    expect(response.attempts).toBe(3);
    expect(server.requests).toHaveLength(2);
    expect(openaiServer.requests[0]!.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    // gpt-4o-mini is in hopgen's price table: $0.15 / $0.60 per million tokens.
    expect(response.usage.cost).toBeCloseTo((7 * 0.15 + 3 * 0.6) / 1_000_000, 15);
  });

  it('names every config and its error when all fail, without leaking the API key', async () => {
    const { config } = await anthropicServer(() => ({
      kind: 'error',
      status: 400,
      type: 'invalid_request_error',
      message: 'max_tokens: too large',
    }));
    const client = new AiSdkChatClient({ configList: [config], cacheSeed: null });

    const failure = await client
      .create({ messages: [{ role: 'user', content: 'hi' }] })
      .catch((error) => error);

    expect(failure).toBeInstanceOf(AllConfigsFailedError);
    expect(failure.message).toContain(
      'configList[0] model claude-sonnet-4-5 at anthropic.messages (1 attempt)',
    );
    expect(failure.message).toContain('max_tokens: too large');
    expect(failure.message).not.toContain(TEST_API_KEY);
  });
});
