import {
  AssistantAgent,
  contentToString,
  InMemoryResponseCache,
  type LlmConfig,
  type Message,
  STRUCTURED_SUMMARY_PROMPT,
  StructuredOutputError,
  UserProxyAgent,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OpenAITestServer, useOpenAITestServers } from './support/openai-test-server.js';

const server = useOpenAITestServers();

const Forecast = z.object({ city: z.string(), days: z.number().int().min(1).max(7) });

function config(model: OpenAITestServer, extra: Partial<LlmConfig> = {}): LlmConfig {
  return {
    configList: [{ model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'sk-test' }],
    cacheSeed: null,
    maxRetries: 0,
    ...extra,
  };
}

function user(): UserProxyAgent {
  return new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: false,
    silent: true,
  });
}

const FORECAST_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};

describe('responseFormat', () => {
  it('asks for the JSON schema, sends a failing reply back once with its issues, and keeps the JSON text', async () => {
    const model = await server([
      { content: '{"city": "Lima", "days": 9}' },
      { content: '{"city": "Lima", "days": 5}' },
    ]);
    const assistant = new AssistantAgent({
      name: 'forecaster',
      llmConfig: config(model),
      responseFormat: { schema: Forecast, name: 'forecast' },
      silent: true,
    });
    const reply = (await assistant.generateReply({
      messages: [{ role: 'user', content: 'Forecast for Lima', name: 'user' }],
    })) as Message;

    expect(model.requests[0]!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'forecast', schema: FORECAST_SCHEMA },
    });
    expect(model.requests[1]!.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: '{"city": "Lima", "days": 9}' },
      {
        role: 'user',
        content:
          'Your reply does not match the required JSON schema:\n- days: Too big: expected number to be <=7\nReply again with only the corrected JSON.',
      },
    ]);
    expect(reply).toEqual({
      role: 'assistant',
      content: '{"city": "Lima", "days": 5}',
      parsed: { city: 'Lima', days: 5 },
    });
  });

  it('keeps only the valid reply in the transcript, with its value, and never sends `parsed` to a model', async () => {
    const model = await server([
      { content: 'Sure! Here it is.' },
      { content: '{"city": "Paris", "days": 2}' },
      { content: '{"city": "Paris", "days": 3}' },
    ]);
    const assistant = new AssistantAgent({
      name: 'forecaster',
      llmConfig: config(model),
      responseFormat: Forecast,
      silent: true,
    });
    const person = user();
    const result = await person.initiateChat(assistant, { message: 'Paris?', maxTurns: 2, silent: true });

    expect(model.requests[1]!.body.messages.at(-1).content).toMatch(
      /^Your reply does not match the required JSON schema:\n- \(root\): the reply is not JSON \(.+\)\nReply again with only the corrected JSON\.$/,
    );
    const answers = result.chatHistory.filter((message) => message.name === 'forecaster');
    expect(answers).toEqual([
      {
        role: 'user',
        content: '{"city": "Paris", "days": 2}',
        name: 'forecaster',
        parsed: { city: 'Paris', days: 2 },
      },
      {
        role: 'user',
        content: '{"city": "Paris", "days": 3}',
        name: 'forecaster',
        parsed: { city: 'Paris', days: 3 },
      },
    ]);
    // The third request carries the first valid answer as history, without the hopgen-only key.
    const history = model.requests[2]!.body.messages as Record<string, unknown>[];
    expect(history.some((message) => 'parsed' in message)).toBe(false);
    expect(history).toContainEqual({
      role: 'assistant',
      content: '{"city": "Paris", "days": 2}',
      name: 'forecaster',
    });
  });

  it('gives up after maxRetries with the issues and the fix', async () => {
    const model = await server(() => ({ content: '{"city": 3}' }));
    const assistant = new AssistantAgent({
      name: 'forecaster',
      llmConfig: config(model),
      responseFormat: { schema: Forecast, maxRetries: 2 },
      silent: true,
    });
    const reply = assistant.generateReply({ messages: [{ role: 'user', content: 'Lima?' }] });
    await expect(reply).rejects.toThrow(StructuredOutputError);
    await expect(reply).rejects.toThrow(
      "Agent 'forecaster': the model's reply did not match the JSON schema after 3 attempts:\n- city: Invalid input: expected string, received number\n- days: Invalid input: expected number, received undefined\nRaise maxRetries of the response format, or loosen the schema.",
    );
    expect(model.requests).toHaveLength(3);
  });

  it('works with streaming: the streamed JSON is validated and streamed again after a retry', async () => {
    const model = await server([
      { content: ['{"city": ', '"Lima", "days": 0}'] },
      { content: ['{"city": ', '"Lima", ', '"days": 1}'] },
    ]);
    const assistant = new AssistantAgent({
      name: 'forecaster',
      llmConfig: config(model, { stream: true }),
      responseFormat: Forecast,
      silent: true,
    });
    const deltas: string[] = [];
    assistant.on('text-delta', ({ delta }) => deltas.push(delta));
    const reply = (await assistant.generateReply({
      messages: [{ role: 'user', content: 'Lima?' }],
    })) as Message;

    expect(model.requests.map((request) => [request.body.stream, request.body.response_format.type])).toEqual(
      [
        [true, 'json_schema'],
        [true, 'json_schema'],
      ],
    );
    expect(deltas.join('')).toBe('{"city": "Lima", "days": 0}{"city": "Lima", "days": 1}');
    expect(reply.parsed).toEqual({ city: 'Lima', days: 1 });
  });

  it('is answered from the cache for the same schema, and never for another schema', async () => {
    const model = await server((_request, index) => ({ content: `{"city": "Lima", "days": ${index + 1}}` }));
    const cache = new InMemoryResponseCache();
    const ask = (schema: z.ZodType) =>
      new AssistantAgent({
        name: 'forecaster',
        llmConfig: config(model, { cache, cacheSeed: 1 }),
        responseFormat: schema,
        silent: true,
      }).generateReply({ messages: [{ role: 'user', content: 'Lima?' }] }) as Promise<Message>;

    expect((await ask(Forecast)).parsed).toEqual({ city: 'Lima', days: 1 });
    expect((await ask(Forecast)).parsed).toEqual({ city: 'Lima', days: 1 });
    expect(model.requests).toHaveLength(1);
    const Looser = z.object({ city: z.string(), days: z.number() });
    expect((await ask(Looser)).parsed).toEqual({ city: 'Lima', days: 2 });
    expect(model.requests).toHaveLength(2);
  });

  it('falls back through the config list with the same response format', async () => {
    const broken = await server(() => ({ kind: 'error', status: 500, message: 'down' }));
    const model = await server([{ content: '{"city": "Lima", "days": 4}' }]);
    const assistant = new AssistantAgent({
      name: 'forecaster',
      llmConfig: {
        configList: [
          { model: 'gpt-4o-mini', baseURL: broken.baseURL, apiKey: 'sk-test' },
          { model: 'gpt-4o', baseURL: model.baseURL, apiKey: 'sk-test' },
        ],
        cacheSeed: null,
        maxRetries: 0,
      },
      responseFormat: Forecast,
      silent: true,
    });
    const reply = (await assistant.generateReply({
      messages: [{ role: 'user', content: 'Lima?' }],
    })) as Message;
    expect(broken.requests[0]!.body.response_format.json_schema.schema).toEqual(FORECAST_SCHEMA);
    expect(model.requests[0]!.body.response_format.json_schema.schema).toEqual(FORECAST_SCHEMA);
    expect(reply.parsed).toEqual({ city: 'Lima', days: 4 });
  });

  it('names the option when the schema cannot be JSON schema', () => {
    expect(
      () =>
        new AssistantAgent({
          name: 'forecaster',
          llmConfig: { configList: [{ model: 'gpt-4o-mini', apiKey: 'sk-test' }] },
          responseFormat: z.object({ when: z.date() }),
        }),
    ).toThrow(/^responseFormat cannot be turned into JSON schema \(.*\)\. Use JSON-compatible zod types\.$/);
  });
});

describe('summaryMethod: { schema }', () => {
  const Outcome = z.object({ answer: z.number(), confident: z.boolean() });

  it('makes ChatResult.structured a typed value the model wrote from the conversation', async () => {
    const model = await server([
      { content: 'It is 42. TERMINATE' },
      { content: '{"answer": "42"}' },
      { content: '{"answer": 42, "confident": true}' },
    ]);
    const assistant = new AssistantAgent({ name: 'assistant', llmConfig: config(model), silent: true });
    const person = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      codeExecutionConfig: false,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    });
    const result = await person.initiateChat(assistant, {
      message: 'What is 6 × 7?',
      summaryMethod: { schema: Outcome, name: 'outcome' },
      silent: true,
    });
    // Typed: `answer` is a number here.
    const answer: number | undefined = result.structured?.answer;
    expect(answer).toBe(42);
    expect(result.structured).toEqual({ answer: 42, confident: true });
    expect(result.summary).toBe('{"answer": 42, "confident": true}');
    const summaryRequest = model.requests[1]!.body;
    expect(summaryRequest.response_format.json_schema.name).toBe('outcome');
    expect(summaryRequest.messages.at(-1)).toEqual({ role: 'system', content: STRUCTURED_SUMMARY_PROMPT });
    expect(model.requests[2]!.body.messages.at(-1).content).toContain(
      '- answer: Invalid input: expected number, received string',
    );
  });
});
