import {
  AssistantAgent,
  type ChatResult,
  contentToString,
  defineTool,
  type LlmConfig,
  type Message,
  registerFunction,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { messageSchema } from '../src/message.js';
import { toolDefinition } from '../src/tools/tool-definition.js';
import {
  type OpenAITestServer,
  type RecordedRequest,
  type ScriptedReply,
  startOpenAITestServer,
} from './support/openai-test-server.js';

const servers: OpenAITestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

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

/** The last message the model was sent. */
function last(request: RecordedRequest): Message {
  return request.body.messages.at(-1);
}

/** An assistant and a user proxy wired to a scripted OpenAI-compatible server, with `get_weather` registered. */
async function pair(
  script: (request: RecordedRequest, index: number) => ScriptedReply,
  extra: Partial<LlmConfig> = {},
) {
  const server = await startOpenAITestServer(script);
  servers.push(server);
  const notices: string[] = [];
  const renderer: TranscriptRenderer = {
    messageReceived: () => undefined,
    notice: (text) => notices.push(text),
  };
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: {
      configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'sk-test' }],
      cacheSeed: null,
      ...extra,
    },
    renderer,
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    renderer,
  });
  registerFunction(weather, { caller: assistant, executor: user });
  return { server, assistant, user, notices };
}

function expectValidHistory(result: ChatResult, ...agents: (AssistantAgent | UserProxyAgent)[]): void {
  const histories = [result.chatHistory, ...agents.flatMap((agent) => [...agent.chatMessages.values()])];
  for (const history of histories) {
    for (const message of history) {
      const parsed = messageSchema.safeParse(message);
      expect(parsed.success, JSON.stringify(message)).toBe(true);
    }
  }
}

describe('tool round trip between two agents through an OpenAI-compatible server', () => {
  it('assistant asks for a tool, user proxy runs it, the result goes back and the assistant answers', async () => {
    weatherCalls.length = 0;
    const { server, assistant, user } = await pair((request) =>
      last(request).role === 'tool'
        ? {
            content: 'It is sunny and 21 °C in Paris. TERMINATE',
            usage: { prompt_tokens: 80, completion_tokens: 12 },
          }
        : {
            content: null,
            toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city": "Paris"}' }],
            usage: { prompt_tokens: 50, completion_tokens: 8 },
          },
    );
    const result = await user.initiateChat(assistant, { message: 'What is the weather in Paris?' });

    expect(weatherCalls).toEqual(['Paris']);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first!.body.tools).toEqual([toolDefinition(weather)]);
    expect(first!.body.messages).toEqual([
      { role: 'system', content: expect.stringContaining('You are a helpful AI assistant') },
      { role: 'user', content: 'What is the weather in Paris?', name: 'user' },
    ]);
    expect(second!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'What is the weather in Paris?', name: 'user' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_w1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w1', content: '{"city":"Paris","sky":"sunny","celsius":21}' },
    ]);

    // The initiator's view: its own text is `assistant`, the other agent's text is `user`.
    expect(result.chatHistory.map((message) => message.role)).toEqual([
      'assistant',
      'assistant',
      'tool',
      'user',
    ]);
    // AutoGen keeps the sending agent's name on a stored tool message; the model is sent none (above).
    expect(result.chatHistory[2]).toMatchObject({
      role: 'tool',
      name: 'user',
      content: '{"city":"Paris","sky":"sunny","celsius":21}',
      tool_responses: [
        { role: 'tool', tool_call_id: 'call_w1', content: '{"city":"Paris","sky":"sunny","celsius":21}' },
      ],
    });
    expect(result.chatHistory.at(-1)?.content).toBe('It is sunny and 21 °C in Paris. TERMINATE');
    expect(result.terminationReason).toBe('termination-message');
    expect(result.cost.usageExcludingCachedInference.models['gpt-4o-mini']?.totalTokens).toBe(150);
    expectValidHistory(result, assistant, user);
  });

  it('works the same when the assistant streams, emitting text deltas', async () => {
    const { assistant, user } = await pair(
      (request) =>
        last(request).role === 'tool'
          ? { content: ['Sunny ', 'in Oslo. ', 'TERMINATE'] }
          : {
              content: null,
              toolCalls: [{ id: 'call_s', name: 'get_weather', arguments: ['{"city"', ': "Oslo"}'] }],
            },
      { stream: true },
    );
    const deltas: string[] = [];
    assistant.on('text-delta', ({ delta }) => deltas.push(delta));
    const result = await user.initiateChat(assistant, { message: 'Weather in Oslo?' });
    expect(result.chatHistory[2]?.content).toBe('{"city":"Oslo","sky":"sunny","celsius":21}');
    expect(deltas).toEqual(['Sunny ', 'in Oslo. ', 'TERMINATE']);
    expect(result.chatHistory.at(-1)?.content).toBe('Sunny in Oslo. TERMINATE');
    expectValidHistory(result, assistant, user);
  });
});

describe('registerFunction with a plain function and a zod schema (AutoGen shape)', () => {
  it('offers it to the model with the schema and runs it with validated arguments', async () => {
    const server = await startOpenAITestServer((request) =>
      last(request).role === 'tool'
        ? { content: 'The total is 5. TERMINATE' }
        : { content: null, toolCalls: [{ id: 'call_add', name: 'add', arguments: '{"a": 2, "b": 3}' }] },
    );
    servers.push(server);
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: {
        configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'sk-test' }],
        cacheSeed: null,
      },
      silent: true,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      silent: true,
    });
    const seen: unknown[] = [];
    function add(args: { a: number; b: number }): number {
      seen.push(args);
      return args.a + args.b;
    }
    registerFunction(add, {
      caller: assistant,
      executor: user,
      description: 'Adds two numbers.',
      parameters: z.object({ a: z.number(), b: z.number() }),
    });
    const result = await user.initiateChat(assistant, { message: 'What is 2 + 3?' });
    expect(server.requests[0]!.body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'add',
          description: 'Adds two numbers.',
          parameters: {
            type: 'object',
            properties: { a: { type: 'number' }, b: { type: 'number' } },
            required: ['a', 'b'],
          },
        },
      },
    ]);
    expect(seen).toEqual([{ a: 2, b: 3 }]);
    expect(result.chatHistory[2]).toMatchObject({ role: 'tool', name: 'user', content: '5' });
    expect(result.chatHistory.at(-1)?.content).toBe('The total is 5. TERMINATE');
    expectValidHistory(result, assistant, user);
  });
});

describe('malformed model replies keep the chat going with a valid history', () => {
  it('an unknown tool is answered with an error the model can read', async () => {
    const { server, assistant, user } = await pair((request) =>
      last(request).role === 'tool'
        ? { content: 'Sorry, I cannot tell the time. TERMINATE' }
        : {
            content: null,
            toolCalls: [
              { id: 'call_t', name: 'get_time', arguments: '{}' },
              { id: 'call_w', name: 'get_weather', arguments: '{"city": "Rome"}' },
            ],
          },
    );
    const result = await user.initiateChat(assistant, { message: 'Time and weather in Rome?' });
    expect(server.requests[1]!.body.messages.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'call_t', content: 'Error: Function get_time not found.' },
      { role: 'tool', tool_call_id: 'call_w', content: '{"city":"Rome","sky":"sunny","celsius":21}' },
    ]);
    expect(result.chatHistory.at(-1)?.content).toBe('Sorry, I cannot tell the time. TERMINATE');
    expectValidHistory(result, assistant, user);
  });

  it('broken JSON arguments are answered with the parser error, and the model can retry', async () => {
    const { server, assistant, user } = await pair(
      (_request, index) =>
        [
          {
            content: null,
            toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city": "Paris"' }],
          },
          {
            content: null,
            toolCalls: [{ id: 'call_2', name: 'get_weather', arguments: '{"city": "Paris"}' }],
          },
          { content: 'Sunny in Paris. TERMINATE' },
        ][index] as ScriptedReply,
    );
    const result = await user.initiateChat(assistant, { message: 'Weather in Paris?' });
    const errorAnswer = last(server.requests[1]!);
    expect(errorAnswer.role).toBe('tool');
    expect(errorAnswer.content).toMatch(/^Error: .+\n The argument must be in JSON format\.$/s);
    expect(last(server.requests[2]!).content).toBe('{"city":"Paris","sky":"sunny","celsius":21}');
    expect(result.chatHistory).toHaveLength(6);
    expectValidHistory(result, assistant, user);
  });

  it('arguments that fail the schema are answered with what is wrong', async () => {
    const { server, assistant, user } = await pair((request) =>
      last(request).role === 'tool'
        ? { content: 'TERMINATE' }
        : {
            content: null,
            toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"town": "Paris"}' }],
          },
    );
    const result = await user.initiateChat(assistant, { message: 'Weather?' });
    expect(last(server.requests[1]!).content).toMatch(
      /^Error: Invalid arguments for function get_weather:\n- city: /,
    );
    expectValidHistory(result, assistant, user);
  });

  it.each([
    ['content null without tool calls', { content: null }],
    ['an empty choice list', { noChoices: true }],
  ] as const)('%s becomes an empty reply with a warning and the chat goes on', async (_label, malformed) => {
    const { server, assistant, user, notices } = await pair((_request, index) =>
      index === 0 ? malformed : { content: 'Recovered. TERMINATE' },
    );
    const result = await user.initiateChat(assistant, { message: 'Hello?' });
    expect(server.requests).toHaveLength(2);
    expect(result.chatHistory.map((message) => [message.role, message.content])).toEqual([
      ['assistant', 'Hello?'],
      ['user', ''],
      ['assistant', ''],
      ['user', 'Recovered. TERMINATE'],
    ]);
    expect(notices.some((text) => text.includes('the model returned neither content nor tool calls'))).toBe(
      true,
    );
    expectValidHistory(result, assistant, user);
  });
});
