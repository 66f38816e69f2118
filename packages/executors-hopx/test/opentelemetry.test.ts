import {
  AssistantAgent,
  configureTracing,
  contentToString,
  defineTool,
  GroupChat,
  GroupChatManager,
  registerFunction,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type OpenAITestServer,
  type RecordedRequest,
  type ScriptedReply,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

let sandboxServer: TestServer;
const pool = new ExecutorPool(() => ({ apiKey: sandboxServer.apiKey, baseURL: sandboxServer.baseURL }));
const modelServers: OpenAITestServer[] = [];
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const silent: TranscriptRenderer = { messageReceived: () => undefined, notice: () => undefined };

beforeAll(async () => {
  sandboxServer = await startTestServer();
});

afterEach(async () => {
  configureTracing({});
  exporter.reset();
  await pool.closeAll();
  await Promise.all(modelServers.splice(0).map((server) => server.close()));
  expect(await liveSandboxIds(sandboxServer)).toEqual([]);
});

afterAll(async () => {
  await sandboxServer?.close();
});

const weather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    if (city === 'Atlantis') throw new Error('no weather station in Atlantis');
    return { city, sky: 'sunny' };
  },
});

/** The assistant's answers: two tool calls (one fails), then a code block, then TERMINATE. */
function assistantScript(request: RecordedRequest): ScriptedReply {
  const usage = { prompt_tokens: 40, completion_tokens: 9 };
  const text = JSON.stringify(request.body.messages);
  if (!text.includes('"role":"tool"')) {
    return {
      content: null,
      toolCalls: [
        { id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_atlantis', name: 'get_weather', arguments: '{"city":"Atlantis"}' },
      ],
      usage,
    };
  }
  if (!text.includes('exitcode:')) return { content: '```python\nprint(6 * 7)\n```', usage };
  return { content: 'The answer is 42. TERMINATE', usage };
}

/** A round-robin group chat of a user proxy (tools and a HopX sandbox) and an assistant at a scripted server. */
async function groupChat() {
  const modelServer = await startOpenAITestServer((request) => assistantScript(request));
  modelServers.push(modelServer);
  const executor = pool.create();
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor },
    renderer: silent,
  });
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: {
      configList: [{ model: 'gpt-4o-mini', baseURL: modelServer.baseURL, apiKey: 'sk-test' }],
      cacheSeed: null,
    },
    renderer: silent,
  });
  registerFunction(weather, { caller: assistant, executor: user });
  const groupchat = new GroupChat({
    agents: [user, assistant],
    speakerSelectionMethod: 'round_robin',
    maxRound: 8,
  });
  const manager = new GroupChatManager({
    groupchat,
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    renderer: silent,
  });
  return { user, manager, executor };
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

function parentOf(spans: ReadableSpan[], span: ReadableSpan): ReadableSpan | undefined {
  const parentId = span.parentSpanContext?.spanId;
  return spans.find((candidate) => candidate.spanContext().spanId === parentId);
}

describe('OpenTelemetry spans (GenAI semantic conventions)', () => {
  it('records the span tree of a group chat with tool calls and a code block, with usage, agents and errors', async () => {
    configureTracing({ tracerProvider: provider });
    const { user, manager, executor } = await groupChat();

    await user.initiateChat(manager, { message: 'What is 6 times 7? Check the weather in Paris too.' });

    const spans = exporter.getFinishedSpans();
    const [run] = byName(spans, 'run user -> chat_manager');
    expect(run).toBeDefined();
    expect(run!.parentSpanContext).toBeUndefined();
    expect(run!.attributes['hopgen.run.termination_reason']).toBe('termination-message');
    expect(spans.every((span) => span.spanContext().traceId === run!.spanContext().traceId)).toBe(true);

    const [managerTurn] = byName(spans, 'invoke_agent chat_manager');
    expect(parentOf(spans, managerTurn!)).toBe(run);
    expect(managerTurn!.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'chat_manager',
    });

    const selections = byName(spans, 'select_speaker');
    expect(selections.map((span) => span.attributes['hopgen.speaker.name'])).toEqual([
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(selections.every((span) => parentOf(spans, span) === managerTurn)).toBe(true);
    expect(selections[0]!.attributes).toMatchObject({
      'hopgen.speaker.method': 'round_robin',
      'gen_ai.agent.name': 'chat_manager',
    });

    const assistantTurns = byName(spans, 'invoke_agent assistant');
    expect(assistantTurns).toHaveLength(3);
    expect(assistantTurns.every((span) => parentOf(spans, span) === managerTurn)).toBe(true);
    const modelCalls = byName(spans, 'chat gpt-4o-mini');
    expect(modelCalls).toHaveLength(3);
    for (const call of modelCalls) {
      expect(assistantTurns).toContain(parentOf(spans, call));
      expect(call.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 40,
        'gen_ai.usage.output_tokens': 9,
        'gen_ai.agent.name': 'assistant',
      });
    }
    expect(modelCalls[0]!.attributes['gen_ai.response.finish_reasons']).toEqual(['tool_calls']);

    const tools = byName(spans, 'execute_tool get_weather');
    expect(tools).toHaveLength(2);
    const userTurns = byName(spans, 'invoke_agent user');
    for (const tool of tools) {
      expect(userTurns).toContain(parentOf(spans, tool));
      expect(tool.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
        'gen_ai.tool.type': 'function',
        'gen_ai.agent.name': 'user',
      });
    }
    const paris = tools.find((span) => span.attributes['gen_ai.tool.call.id'] === 'call_paris')!;
    const atlantis = tools.find((span) => span.attributes['gen_ai.tool.call.id'] === 'call_atlantis')!;
    expect(paris.status.code).toBe(SpanStatusCode.UNSET);
    expect(atlantis.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'Error: no weather station in Atlantis',
    });
    expect(atlantis.attributes['error.type']).toBe('tool_error');

    const [code] = byName(spans, 'execute_code python');
    expect(userTurns).toContain(parentOf(spans, code!));
    expect(code!.attributes).toMatchObject({
      'hopgen.code.block_count': 1,
      'hopgen.code.languages': ['python'],
      'hopgen.code.exit_code': 0,
      'hopgen.sandbox.id': executor.sandboxId,
      'gen_ai.agent.name': 'user',
    });
    expect(executor.sandboxId).toMatch(/\S/);

    // Message content may hold secrets: none of it is recorded by default.
    const recorded = JSON.stringify(spans.map((span) => span.attributes));
    expect(recorded).not.toContain('Paris');
    expect(recorded).not.toContain('print(6 * 7)');
  });

  it('records messages, tool arguments and results, and code only when recordContent is on', async () => {
    configureTracing({ tracerProvider: provider, recordContent: true });
    const { user, manager } = await groupChat();

    await user.initiateChat(manager, { message: 'What is 6 times 7? Check the weather in Paris too.' });

    const spans = exporter.getFinishedSpans();
    const [firstCall] = byName(spans, 'chat gpt-4o-mini');
    expect(JSON.parse(String(firstCall!.attributes['gen_ai.input.messages'])).at(-1)).toMatchObject({
      content: 'What is 6 times 7? Check the weather in Paris too.',
    });
    expect(String(firstCall!.attributes['gen_ai.output.messages'])).toContain('call_paris');
    const paris = byName(spans, 'execute_tool get_weather').find(
      (span) => span.attributes['gen_ai.tool.call.id'] === 'call_paris',
    );
    expect(paris!.attributes).toMatchObject({
      'gen_ai.tool.call.arguments': '{"city":"Paris"}',
      'gen_ai.tool.call.result': '{"city":"Paris","sky":"sunny"}',
    });
    const [code] = byName(spans, 'execute_code python');
    expect(code!.attributes).toMatchObject({
      'hopgen.code.source': 'print(6 * 7)',
      'hopgen.code.output': '42\n',
    });
  });

  it('marks a failed model call with ERROR status on its span and on every span up to the run', async () => {
    configureTracing({ tracerProvider: provider });
    const modelServer = await startOpenAITestServer(() => ({
      kind: 'error',
      status: 401,
      message: 'bad key',
    }));
    modelServers.push(modelServer);
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: {
        configList: [{ model: 'gpt-4o-mini', baseURL: modelServer.baseURL, apiKey: 'sk-x' }],
        cacheSeed: null,
      },
      renderer: silent,
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', renderer: silent });

    await expect(user.initiateChat(assistant, { message: 'hi' })).rejects.toThrow('every config');

    const spans = exporter.getFinishedSpans();
    for (const name of ['chat gpt-4o-mini', 'invoke_agent assistant', 'run user -> assistant']) {
      const [span] = byName(spans, name);
      expect(span?.status.code, name).toBe(SpanStatusCode.ERROR);
      expect(span?.attributes['error.type'], name).toBe('AllConfigsFailedError');
    }
  });
});
