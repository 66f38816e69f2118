import type {
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
} from '@ai-sdk/provider';
import {
  AllConfigsFailedError,
  ConversableAgent,
  GroupChat,
  GroupChatManager,
  InMemoryResponseCache,
  ModelClientError,
} from '@hopgen/agents';
import { AiSdkChatClient, AiSdkOptionError, StreamBrokenError } from '@hopgen/ai-sdk';
import { APICallError } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { describe, expect, it } from 'vitest';

function usage(input: number, output: number): LanguageModelV3GenerateResult['usage'] {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function answer(content: LanguageModelV3Content[], input = 10, output = 5): LanguageModelV3GenerateResult {
  const toolCalls = content.some((part) => part.type === 'tool-call');
  return {
    content,
    finishReason: { unified: toolCalls ? 'tool-calls' : 'stop', raw: toolCalls ? 'tool_use' : 'end_turn' },
    usage: usage(input, output),
    warnings: [],
  };
}

const text = (value: string) => answer([{ type: 'text', text: value }]);

function failure(status: number, headers: Record<string, string> = {}): APICallError {
  return new APICallError({
    message: `HTTP ${status}`,
    url: 'http://127.0.0.1/v1/messages',
    requestBodyValues: {},
    statusCode: status,
    responseHeaders: headers,
    isRetryable: status === 429 || status >= 500,
  });
}

/** A mock model that answers each call with the next entry; an Error entry is thrown instead. */
function scripted(entries: (LanguageModelV3GenerateResult | Error)[], modelId = 'claude-mock') {
  let index = 0;
  return new MockLanguageModelV3({
    provider: 'mock.anthropic',
    modelId,
    doGenerate: async () => {
      const entry = entries[index++];
      if (entry === undefined) throw new Error(`mock ${modelId} ran out of answers`);
      if (entry instanceof Error) throw entry;
      return entry;
    },
  });
}

/** A model call that never answers, like a stalled provider, until its signal aborts it (as fetch does). */
function untilAborted(options: LanguageModelV3CallOptions): Promise<never> {
  return new Promise((_resolve, reject) => {
    const signal = options.abortSignal;
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason));
  });
}

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('AiSdkChatClient over the AI SDK mock language model', () => {
  it('converts the prompt: system apart, tool calls and results with their tool names, images as image parts', async () => {
    const model = scripted([text('done')]);
    const client = new AiSdkChatClient({
      configList: [{ languageModel: model }],
      cacheSeed: null,
      temperature: 0,
    });
    const pixel = Buffer.from('png bytes').toString('base64');

    await client.create({
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'Plot it', name: 'user' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'plot', arguments: '{"x": 1}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'plotted' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here is the chart' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${pixel}` } },
          ],
        },
        { role: 'system', content: 'Select the next speaker.' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'plot', description: 'Plots', parameters: { type: 'object', properties: {} } },
        },
      ],
    });

    const call = model.doGenerateCalls[0]!;
    expect(call.temperature).toBe(0);
    expect(call.prompt).toEqual([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: [{ type: 'text', text: 'Plot it' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'plot', input: { x: 1 } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'plot',
            output: { type: 'text', value: 'plotted' },
          },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here is the chart' },
          { type: 'file', mediaType: 'image/png', data: expect.anything() },
        ],
      },
      // A later system message goes as user text: Anthropic and Gemini take system text only at the start.
      { role: 'user', content: [{ type: 'text', text: 'Select the next speaker.' }] },
    ]);
    const imageMessage = call.prompt[4] as { content: { type: string; data?: unknown }[] };
    const image = imageMessage.content[1]!;
    const bytes =
      typeof image.data === 'string'
        ? Buffer.from(image.data, 'base64')
        : Buffer.from(image.data as Uint8Array);
    expect(bytes.toString()).toBe('png bytes');
    expect(call.tools).toEqual([
      expect.objectContaining({
        type: 'function',
        name: 'plot',
        description: 'Plots',
        inputSchema: { type: 'object', properties: {} },
      }),
    ]);
  });

  it("returns tool calls in OpenAI's form with normalised names, the finish reason, and usage with cost", async () => {
    const model = scripted([
      answer(
        [
          {
            type: 'tool-call',
            toolCallId: 'toolu_1',
            toolName: 'multi_tool_call.echo',
            input: '{"text":"hi"}',
          },
        ],
        100,
        20,
      ),
    ]);
    const client = new AiSdkChatClient({
      configList: [{ languageModel: model, price: [0.003, 0.015] }],
      cacheSeed: null,
    });
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'multi_tool_call.echo',
          parameters: { type: 'object', properties: { text: { type: 'string' } } },
        },
      },
    ];

    const response = await client.create({ ...hi, tools });

    expect(response.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'toolu_1',
          type: 'function',
          function: { name: 'multi_tool_call_echo', arguments: '{"text":"hi"}' },
        },
      ],
    });
    expect(response.finishReason).toBe('tool_calls');
    expect(response.model).toBe('claude-mock');
    expect(response.usage).toEqual({
      promptTokens: 100,
      completionTokens: 20,
      totalTokens: 120,
      cost: expect.closeTo((100 * 0.003 + 20 * 0.015) / 1000, 12),
    });
    expect(client.usage().usageExcludingCachedInference.totalCost).toBeCloseTo(0.0006, 12);
  });

  it('reports an unknown cost as null instead of guessing a price', async () => {
    const client = new AiSdkChatClient({
      configList: [{ languageModel: scripted([text('x')]) }],
      cacheSeed: null,
    });
    const response = await client.create(hi);
    expect(response.usage.cost).toBeNull();
    expect(client.usage().usageIncludingCachedInference.totalCost).toBeNull();
  });

  it('streams text deltas to onTextDelta and assembles streamed tool calls', async () => {
    const chunks: LanguageModelV3StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Let me ' },
      { type: 'text-delta', id: 't', delta: 'check.' },
      { type: 'text-end', id: 't' },
      { type: 'tool-call', toolCallId: 'call_9', toolName: 'lookup', input: '{"q":"x"}' },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: usage(12, 7) },
    ];
    const model = new MockLanguageModelV3({
      doStream: async () => ({ stream: simulateReadableStream({ chunks }) }),
    });
    const client = new AiSdkChatClient({ configList: [{ languageModel: model }], cacheSeed: null });
    const deltas: string[] = [];
    const tools = [
      { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } },
    ];

    const response = await client.create({ ...hi, tools, onTextDelta: (delta) => deltas.push(delta) });

    expect(model.doStreamCalls).toHaveLength(1);
    expect(deltas).toEqual(['Let me ', 'check.']);
    expect(response.message).toEqual({
      role: 'assistant',
      content: 'Let me check.',
      tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
    });
    expect(response.usage.totalTokens).toBe(19);
  });

  it('does not retry a stream that broke after text was shown, so no text is shown twice', async () => {
    let sent = false;
    const model = new MockLanguageModelV3({
      doStream: async () => ({
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          // The connection breaks on the pull after the first text, as a dropped socket does.
          pull(controller) {
            if (sent) {
              controller.error(failure(503));
              return;
            }
            sent = true;
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'partial' });
          },
        }),
      }),
    });
    const client = new AiSdkChatClient({
      configList: [{ languageModel: model }],
      cacheSeed: null,
      retryBaseDelayMs: 1,
    });
    const deltas: string[] = [];

    const error = await client
      .create({ ...hi, onTextDelta: (delta) => deltas.push(delta) })
      .catch((caught) => caught);

    expect(error).toBeInstanceOf(StreamBrokenError);
    expect(error).toBeInstanceOf(ModelClientError);
    expect(error.message).toContain('broke off after part of it was streamed');
    expect(deltas).toEqual(['partial']);
    expect(model.doStreamCalls).toHaveLength(1);
  });

  it('retries retryable failures with backoff, then falls back to the next provider on a fatal one', async () => {
    const flaky = scripted([failure(503), failure(429), text('third time')]);
    const client = new AiSdkChatClient({
      configList: [{ languageModel: flaky }],
      cacheSeed: null,
      retryBaseDelayMs: 1,
    });
    const response = await client.create(hi);
    expect(response.message.content).toBe('third time');
    expect(response.attempts).toBe(3);

    const refused = scripted([failure(401)], 'claude-refused');
    const gemini = new MockLanguageModelV3({
      provider: 'mock.google',
      modelId: 'gemini-mock',
      doGenerate: async () => text('from gemini'),
    });
    const fallback = new AiSdkChatClient({
      configList: [{ languageModel: refused }, { languageModel: gemini }],
      cacheSeed: null,
    });
    const fromSecond = await fallback.create(hi);
    expect(fromSecond).toMatchObject({ configIndex: 1, attempts: 2, model: 'gemini-mock' });
    expect(refused.doGenerateCalls).toHaveLength(1);
    expect(Object.keys(fallback.usage().usageExcludingCachedInference.models)).toEqual(['gemini-mock']);
  });

  it('gives up on a config whose Retry-After is longer than maxRetryDelayMs', async () => {
    const slow = scripted([failure(429, { 'retry-after': '120' })], 'claude-slow');
    const other = scripted([text('fast')], 'claude-fast');
    const client = new AiSdkChatClient({
      configList: [{ languageModel: slow }, { languageModel: other }],
      cacheSeed: null,
      maxRetryDelayMs: 1000,
    });
    const response = await client.create(hi);
    expect(response).toMatchObject({ configIndex: 1, attempts: 2 });
    expect(slow.doGenerateCalls).toHaveLength(1);
  });

  it('times out a silent attempt after timeoutMs, retries it, then reports every config', async () => {
    const hanging = new MockLanguageModelV3({
      modelId: 'claude-hang',
      doGenerate: untilAborted,
    });
    const client = new AiSdkChatClient({
      configList: [{ languageModel: hanging }],
      cacheSeed: null,
      timeoutMs: 50,
      maxRetries: 1,
      retryBaseDelayMs: 1,
    });
    const error = await client.create(hi).catch((caught) => caught);
    expect(error).toBeInstanceOf(AllConfigsFailedError);
    expect(error.message).toContain(
      'configList[0] model claude-hang at mock-provider (2 attempts): no answer within 50 ms (timeoutMs)',
    );
    expect(hanging.doGenerateCalls).toHaveLength(2);
  });

  it("stops at once when the caller's signal aborts, without retrying", async () => {
    const hanging = new MockLanguageModelV3({
      doGenerate: untilAborted,
    });
    const client = new AiSdkChatClient({ configList: [{ languageModel: hanging }], cacheSeed: null });
    const controller = new AbortController();
    const pending = client.create({ ...hi, signal: controller.signal });
    controller.abort(new Error('user stopped'));
    await expect(pending).rejects.toThrow('user stopped');
    expect(hanging.doGenerateCalls).toHaveLength(1);
  });

  it('answers a repeated request from the cache, counted only in the usage including cached answers', async () => {
    const model = scripted([text('cached answer')]);
    const client = new AiSdkChatClient({
      configList: [{ languageModel: model }],
      cache: new InMemoryResponseCache(),
    });
    const first = await client.create(hi);
    const second = await client.create(hi);
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ cached: true, attempts: 0, message: { content: 'cached answer' } });
    expect(model.doGenerateCalls).toHaveLength(1);
    const report = client.usage();
    expect(report.usageIncludingCachedInference.models['claude-mock']?.totalTokens).toBe(30);
    expect(report.usageExcludingCachedInference.models['claude-mock']?.totalTokens).toBe(15);
  });

  it('rejects options that cannot work, naming the fix', () => {
    expect(() => new AiSdkChatClient({ configList: [] })).toThrow(AiSdkOptionError);
    expect(
      () => new AiSdkChatClient({ configList: [{ languageModel: 'anthropic/claude' as never }] }),
    ).toThrow(
      "configList[0].languageModel is the string 'anthropic/claude': give the provider's model object instead (e.g. anthropic('anthropic/claude')",
    );
    expect(() => new AiSdkChatClient({ configList: [{} as never] })).toThrow(
      'configList[0] needs `languageModel`',
    );
    expect(
      () => new AiSdkChatClient({ configList: [{ languageModel: scripted([]) }], timeoutMs: Number.NaN }),
    ).toThrow('`timeoutMs` must be a finite number >= 0');
  });
});

describe("AutoGen's behaviour on an AI SDK model", () => {
  it('summarises a chat with reflection_with_llm through the AI SDK model', async () => {
    const model = scripted([text('The answer is 42.'), text('42, per the assistant.')]);
    const assistant = new ConversableAgent({
      name: 'assistant',
      llmConfig: {
        modelClient: new AiSdkChatClient({ configList: [{ languageModel: model }], cacheSeed: null }),
      },
      humanInputMode: 'NEVER',
      silent: true,
    });
    const user = new ConversableAgent({
      name: 'user',
      llmConfig: false,
      humanInputMode: 'NEVER',
      silent: true,
    });

    const result = await user.initiateChat(assistant, {
      message: 'What is the answer?',
      maxTurns: 1,
      summaryMethod: 'reflection_with_llm',
    });

    expect(result.summary).toBe('42, per the assistant.');
    expect(model.doGenerateCalls[1]!.prompt.at(-1)).toEqual({
      role: 'user',
      content: [
        {
          type: 'text',
          text: 'Summarize the takeaway from the conversation. Do not add any introductory phrases.',
        },
      ],
    });
  });

  it("selects the next speaker in a group chat with the AI SDK model and AutoGen's selector prompt", async () => {
    const model = scripted([text('carol')]);
    const agents = ['alice', 'bob', 'carol'].map(
      (name) =>
        new ConversableAgent({
          name,
          description: `${name} role`,
          defaultAutoReply: `${name} here`,
          humanInputMode: 'NEVER',
          silent: true,
        }),
    );
    const [alice, , carol] = agents;
    const groupchat = new GroupChat({ agents });
    const manager = new GroupChatManager({
      groupchat,
      silent: true,
      llmConfig: {
        modelClient: new AiSdkChatClient({ configList: [{ languageModel: model }], cacheSeed: null }),
      },
    });
    groupchat.messages.push({ role: 'user', content: 'We need a plan.', name: 'alice' });

    const selection = await groupchat.selectSpeakerWithReason(alice!, manager);

    expect(selection).toEqual({ speaker: carol, method: 'auto', reason: 'model-selected' });
    const call = model.doGenerateCalls[0]!;
    expect(call.prompt[0]).toEqual({ role: 'system', content: groupchat.selectSpeakerMsg() });
    expect(call.prompt.at(-1)).toEqual({
      role: 'user',
      content: [
        {
          type: 'text',
          text: "Read the above conversation. Then select the next role from ['alice', 'bob', 'carol'] to play. Only return the role.",
        },
      ],
    });
  });
});
