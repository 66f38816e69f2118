import {
  AssistantAgent,
  defineTool,
  executeToolCalls,
  type FunctionMapEntry,
  formatJsonString,
  InvalidOptionError,
  messageSchema,
  normalizeToolName,
  registerFunction,
  ScriptedModelClient,
  type ToolCall,
  toolDefinition,
  UserProxyAgent,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const weather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: z.object({
    city: z.string().describe('City name'),
    unit: z.enum(['celsius', 'fahrenheit']).default('celsius'),
  }),
  execute: ({ city, unit }) => `Sunny, 21 degrees ${unit} in ${city}`,
});

function call(name: string, args: string, id = `call_${name}`): ToolCall {
  return { id, type: 'function', function: { name, arguments: args } };
}

describe('toolDefinition', () => {
  it('turns a zod schema into an OpenAI function definition', () => {
    expect(toolDefinition(weather)).toEqual({
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather of a city',
        parameters: {
          type: 'object',
          properties: {
            city: { type: 'string', description: 'City name' },
            unit: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
          },
          // A field with a default is optional for the model.
          required: ['city'],
        },
      },
    });
  });

  it('rejects names OpenAI would reject and names the fix', () => {
    expect(() => toolDefinition({ ...weather, name: 'get weather' })).toThrow(InvalidOptionError);
    expect(() => toolDefinition({ ...weather, name: 'get weather' })).toThrow(
      /letters, digits.*"get_weather"/,
    );
    expect(() => toolDefinition({ ...weather, name: 'a'.repeat(65) })).toThrow(/at most 64 characters/);
    expect(toolDefinition({ ...weather, name: 'a'.repeat(64) }).function.name).toHaveLength(64);
    expect(() =>
      toolDefinition({ type: 'function', function: { name: 'bad.name', parameters: { type: 'object' } } }),
    ).toThrow(/"bad_name"/);
  });

  it('requires a description and an object schema', () => {
    expect(() => toolDefinition({ ...weather, description: '' })).toThrow(/Function description is required/);
    expect(() => toolDefinition({ ...weather, parameters: z.string() })).toThrow(/z\.object/);
  });

  it('copies a ready definition', () => {
    const ready = toolDefinition(weather);
    const copy = toolDefinition(ready);
    expect(copy).toEqual(ready);
    expect(copy).not.toBe(ready);
  });

  it('normalises model-sent names like AutoGen', () => {
    expect(normalizeToolName('multi_tool_call.echo')).toBe('multi_tool_call_echo');
    expect(normalizeToolName('a b/c')).toBe('a_b_c');
    expect(normalizeToolName('x'.repeat(70))).toHaveLength(64);
  });
});

describe('executeToolCalls', () => {
  const functionMap = new Map<string, FunctionMapEntry>([['get_weather', weather]]);

  it("returns AutoGen's tool message with one response per call", async () => {
    const reply = await executeToolCalls(functionMap, [
      call('get_weather', '{"city": "Paris"}', 'call_1'),
      call('get_weather', '{"city": "Oslo", "unit": "fahrenheit"}', 'call_2'),
    ]);
    expect(reply).toEqual({
      role: 'tool',
      content: 'Sunny, 21 degrees celsius in Paris\n\nSunny, 21 degrees fahrenheit in Oslo',
      tool_responses: [
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 degrees celsius in Paris' },
        { role: 'tool', tool_call_id: 'call_2', content: 'Sunny, 21 degrees fahrenheit in Oslo' },
      ],
    });
    expect(messageSchema.safeParse(reply).success).toBe(true);
  });

  it('runs the calls of one reply concurrently', async () => {
    const started: string[] = [];
    let release!: () => void;
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiter = async ({ label }: { label: string }) => {
      started.push(label);
      if (started.length === 2) release();
      // Sequential execution would wait here forever (the test would time out).
      await bothStarted;
      return `done ${label}`;
    };
    const map = new Map<string, FunctionMapEntry>([['wait', waiter]]);
    const reply = await executeToolCalls(map, [
      call('wait', '{"label":"a"}', '1'),
      call('wait', '{"label":"b"}', '2'),
    ]);
    expect(reply.content).toBe('done a\n\ndone b');
  });

  it('answers an unknown function in AutoGen words', async () => {
    const reply = await executeToolCalls(functionMap, [call('get_time', '{}')]);
    expect(reply.content).toBe('Error: Function get_time not found.');
  });

  it('looks up a model-sent name after normalising it', async () => {
    const reply = await executeToolCalls(functionMap, [call('get.weather', '{"city":"Rome"}')]);
    expect(reply.content).toBe('Sunny, 21 degrees celsius in Rome');
  });

  it('answers broken JSON with the parser message', async () => {
    const reply = await executeToolCalls(functionMap, [call('get_weather', '{"city": Paris}')]);
    const content = reply.content as string;
    expect(content.startsWith('Error: ')).toBe(true);
    expect(content.endsWith('\n The argument must be in JSON format.')).toBe(true);
    expect(content).toMatch(/JSON/);
  });

  it('lists what is wrong with arguments that fail the schema', async () => {
    const reply = await executeToolCalls(functionMap, [
      call('get_weather', '{"city": 42, "unit": "kelvin"}'),
    ]);
    expect(reply.content).toMatch(
      /^Error: Invalid arguments for function get_weather:\n- city: .*string.*\n- unit: .*"celsius"/,
    );
  });

  it('answers a thrown error with its message and keeps the other results', async () => {
    const map = new Map<string, FunctionMapEntry>([
      [
        'fail',
        () => {
          throw new Error('disk full');
        },
      ],
      ['reject', async () => Promise.reject(new Error('network down'))],
      ['ok', async () => ({ answer: 42, text: 'é' })],
      ['nothing', () => undefined],
    ]);
    const reply = await executeToolCalls(map, [
      call('fail', '{}', '1'),
      call('reject', '{}', '2'),
      call('ok', '{}', '3'),
      call('nothing', '{}', '4'),
    ]);
    expect(reply.tool_responses?.map((response) => response.content)).toEqual([
      'Error: disk full',
      'Error: network down',
      '{"answer":42,"text":"é"}',
      'null',
    ]);
  });

  it('passes parsed arguments unvalidated to plain functions and leaves out a missing id', async () => {
    const seen: unknown[] = [];
    const map = new Map<string, FunctionMapEntry>([
      [
        'echo',
        (args: unknown) => {
          seen.push(args);
          return 'ok';
        },
      ],
    ]);
    const reply = await executeToolCalls(map, [
      { id: '', type: 'function', function: { name: 'echo', arguments: '{"x": [1]}' } },
    ]);
    expect(seen).toEqual([{ x: [1] }]);
    expect(reply.tool_responses).toEqual([{ role: 'tool', content: 'ok' }]);
  });

  it('accepts raw newlines the way AutoGen does', async () => {
    expect(formatJsonString('{\n"text": "a\nb\tc"\n}')).toBe('{"text": "a\\nb\\tc"}');
    const map = new Map<string, FunctionMapEntry>([['echo', ({ text }: { text: string }) => text]]);
    const reply = await executeToolCalls(map, [call('echo', '{\n  "text": "line 1\nline 2"\n}')]);
    expect(reply.content).toBe('line 1\nline 2');
  });

  it('treats empty arguments as no arguments', async () => {
    const map = new Map<string, FunctionMapEntry>([
      ['now', { name: 'now', description: 'time', parameters: z.object({}), execute: () => 'noon' }],
    ]);
    expect((await executeToolCalls(map, [call('now', '')])).content).toBe('noon');
  });
});

describe('registerFunction', () => {
  it('offers the tool to the caller and lets the executor run it', () => {
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: [] }) },
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER' });
    registerFunction(weather, { caller: assistant, executor: user });
    expect(assistant.llmTools).toEqual([toolDefinition(weather)]);
    expect(user.functionMap.get('get_weather')).toBe(weather);
    expect(assistant.functionMap.size).toBe(0);
  });

  it('registers under another name and description when asked, and nothing when the name is bad', () => {
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: [] }) },
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER' });
    registerFunction(weather, {
      caller: assistant,
      executor: user,
      name: 'weather',
      description: 'Weather now',
    });
    expect(assistant.llmTools[0]?.function).toMatchObject({ name: 'weather', description: 'Weather now' });
    expect(user.functionMap.has('weather')).toBe(true);
    expect(() => registerFunction(weather, { caller: assistant, executor: user, name: 'bad name' })).toThrow(
      InvalidOptionError,
    );
    expect(assistant.llmTools).toHaveLength(1);
    expect(user.functionMap.size).toBe(1);
  });
});
