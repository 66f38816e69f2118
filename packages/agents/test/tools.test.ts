import {
  AssistantAgent,
  defineTool,
  type FunctionMapEntry,
  InvalidOptionError,
  registerFunction,
  type ToolCall,
  UserProxyAgent,
} from '@hopgen/agents';
import { normalizeToolName } from '@hopgen/agents/internal';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { messageSchema } from '../src/message.js';
import { executeToolCalls, formatJsonString } from '../src/tools/execute-tool-calls.js';
import { toolDefinition } from '../src/tools/tool-definition.js';

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

describe('registerFunction shapes', () => {
  const agents = () => ({
    caller: new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: [] }) },
    }),
    executor: new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER' }),
  });
  const rightShape =
    /registerFunction\(fn, \{ caller, executor, name, description, parameters: z\.object\(\{\.\.\.\}\) \}\)/;

  it('takes a plain function with name, description and a zod schema, as AutoGen does', async () => {
    const { caller, executor } = agents();
    const add = ({ a, b }: { a: number; b: number }) => a + b;
    registerFunction(add, {
      caller,
      executor,
      name: 'add_numbers',
      description: 'Adds two numbers.',
      parameters: z.object({ a: z.number(), b: z.number() }),
    });
    expect(caller.llmTools.map((tool) => tool.function.name)).toEqual(['add_numbers']);
    const answer = await executeToolCalls(executor.functionMap, [call('add_numbers', '{"a": 2, "b": "x"}')]);
    expect(answer.content).toBe(
      'Error: Invalid arguments for function add_numbers:\n- b: Invalid input: expected number, received string',
    );
    const sum = await executeToolCalls(executor.functionMap, [call('add_numbers', '{"a": 2, "b": 3}')]);
    expect(sum.content).toBe('5');
  });

  it('names a plain function after itself and lets one without arguments leave parameters out', async () => {
    const { caller, executor } = agents();
    function currentTime() {
      return 'noon';
    }
    registerFunction(currentTime, { caller, executor, description: 'The time now.' });
    expect(caller.llmTools[0]?.function).toEqual({
      name: 'currentTime',
      description: 'The time now.',
      parameters: { type: 'object', properties: {} },
    });
    expect((await executeToolCalls(executor.functionMap, [call('currentTime', '{}')])).content).toBe('noon');
  });

  it('refuses each wrong shape with a message that shows the right one, and registers nothing', () => {
    const { caller, executor } = agents();
    const add = (args: { a: number }) => args.a;
    const wrong: Array<[string, () => void, RegExp]> = [
      [
        'no description',
        () => registerFunction(add as never, { caller, executor, parameters: z.object({ a: z.number() }) }),
        /^Function description is required, none found\. Pass `description`/,
      ],
      [
        'arguments but no schema',
        () => registerFunction(add as never, { caller, executor, description: 'd' }),
        /"add" takes arguments, so pass `parameters`/,
      ],
      [
        'a JSON schema instead of zod',
        () =>
          registerFunction(add, {
            caller,
            executor,
            description: 'd',
            parameters: { type: 'object', properties: {} } as never,
          }),
        /`parameters` must be a zod object schema/,
      ],
      [
        'an anonymous function',
        () =>
          registerFunction(
            (
              () => (x: { a: number }) =>
                x.a
            )(),
            { caller, executor, description: 'd', parameters: z.object({ a: z.number() }) },
          ),
        /has no name; pass `name`/,
      ],
      [
        'no executor',
        () => registerFunction(weather, { caller } as never),
        /`executor` must be the agent that runs it/,
      ],
      [
        'options left out',
        () => (registerFunction as (tool: unknown) => void)(weather),
        /`caller` must be the agent whose model may call the function, and `executor`/,
      ],
      [
        'an OpenAI definition',
        () => registerFunction(toolDefinition(weather) as never, { caller, executor }),
        /only describes a function and cannot run it/,
      ],
      [
        'a tool without a schema',
        () =>
          registerFunction({ name: 'x', description: 'd', execute: () => 1 } as never, { caller, executor }),
        /the tool's `parameters` must be a zod object schema/,
      ],
      [
        'a string',
        () => registerFunction('add' as never, { caller, executor }),
        /the first argument must be a tool with `execute` or a function, got string/,
      ],
    ];
    for (const [what, register, message] of wrong) {
      let thrown: unknown;
      try {
        register();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, what).toBeInstanceOf(InvalidOptionError);
      expect((thrown as Error).message, what).toMatch(message);
      expect((thrown as Error).message, what).toMatch(rightShape);
    }
    expect(caller.llmTools).toEqual([]);
    expect(executor.functionMap.size).toBe(0);
  });
});

describe('registering a name twice', () => {
  /** The HopgenWarnings emitted while `run` runs (process.emitWarning delivers them on a later tick). */
  async function warningsOf(run: () => void): Promise<string[]> {
    const seen: string[] = [];
    const listener = (warning: Error) => {
      if (warning.name === 'HopgenWarning') seen.push(warning.message);
    };
    process.on('warning', listener);
    try {
      run();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return seen;
  }

  it('replaces the first registration and warns as AutoGen does, on each agent', async () => {
    const caller = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: [] }) },
    });
    const executor = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER' });
    expect(await warningsOf(() => registerFunction(weather, { caller, executor }))).toEqual([]);
    const overridden = "Function 'get_weather' is being overridden.";
    expect(
      await warningsOf(() =>
        registerFunction(weather, { caller, executor, description: 'Weather, second version' }),
      ),
    ).toEqual([overridden, overridden]);
    expect(await warningsOf(() => executor.registerFunction({ get_weather: () => 'plain' }))).toEqual([
      overridden,
    ]);
    expect(caller.llmTools.map((tool) => tool.function.description)).toEqual(['Weather, second version']);
    const answer = await executeToolCalls(executor.functionMap, [call('get_weather', '{}')]);
    expect(answer.content).toBe('plain');
  });
});
