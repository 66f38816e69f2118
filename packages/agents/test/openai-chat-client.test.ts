import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AllConfigsFailedError,
  AssistantAgent,
  ContentFilterError,
  createModelClient,
  InvalidOptionError,
  type LlmConfig,
  ModelClientError,
  OpenAIChatClient,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toolDefinition } from '../src/tools/tool-definition.js';
import { type OpenAITestServer, type Script, startOpenAITestServer } from './support/openai-test-server.js';

const noKeyChild = fileURLToPath(new URL('./support/no-key-child.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

const servers: OpenAITestServer[] = [];
let cacheRoot: string;

async function serve(script: Script): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer(script);
  servers.push(server);
  return server;
}

/** A client with no cache and fast retries unless the test says otherwise. */
function client(config: LlmConfig): OpenAIChatClient {
  return new OpenAIChatClient({ cacheSeed: null, retryBaseDelayMs: 5, ...config });
}

const hello = [{ role: 'user' as const, content: 'Hello', name: 'user' }];

beforeEach(async () => {
  cacheRoot = await mkdtemp(join(tmpdir(), 'hopgen-client-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(cacheRoot, { recursive: true, force: true });
});

describe('OpenAIChatClient request and answer', () => {
  it('sends model, messages, tools, temperature and extra fields, and never the API key in the body', async () => {
    const server = await serve([{ content: 'Hi there', usage: { prompt_tokens: 12, completion_tokens: 3 } }]);
    const weather = toolDefinition({
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: z.object({ city: z.string() }),
      execute: () => 'sunny',
    });
    const chat = client({
      configList: [{ model: 'gpt-4o-mini', apiKey: 'sk-test-secret', baseURL: server.baseURL }],
      temperature: 0.2,
      requestParameters: { top_p: 0.5 },
    });
    const response = await chat.create({
      messages: [
        { role: 'system', content: 'You are helpful.' },
        {
          role: 'tool',
          content: 'a\n\nb',
          tool_responses: [
            { role: 'tool', tool_call_id: 'c1', content: 'a' },
            { role: 'tool', tool_call_id: 'c2', content: 'b' },
          ],
        },
        ...hello,
      ],
      tools: [weather],
    });

    expect(server.requests).toHaveLength(1);
    const body = server.requests[0]!.body;
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.temperature).toBe(0.2);
    expect(body.top_p).toBe(0.5);
    expect(body.stream).toBe(false);
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are helpful.' },
      { role: 'tool', tool_call_id: 'c1', content: 'a' },
      { role: 'tool', tool_call_id: 'c2', content: 'b' },
      { role: 'user', content: 'Hello', name: 'user' },
    ]);
    expect(body.tools).toEqual([weather]);
    expect(JSON.stringify(body)).not.toContain('sk-test-secret');
    expect(body.cacheSeed).toBeUndefined();
    expect(body.retryBaseDelayMs).toBeUndefined();
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-test-secret');

    expect(response.message).toEqual({ role: 'assistant', content: 'Hi there' });
    expect(response.cached).toBe(false);
    expect(response.finishReason).toBe('stop');
    expect(response.attempts).toBe(1);
    expect(response.usage.promptTokens).toBe(12);
    expect(response.usage.completionTokens).toBe(3);
    expect(response.usage.totalTokens).toBe(15);
    // gpt-4o-mini: $0.15 / $0.60 per 1M tokens.
    expect(response.usage.cost).toBeCloseTo((12 * 0.15 + 3 * 0.6) / 1e6, 12);
  });

  it('returns tool calls with names normalised the way AutoGen does', async () => {
    const server = await serve([
      {
        content: null,
        toolCalls: [{ id: 'call_1', name: 'multi_tool_call.echo', arguments: '{"text":"hi"}' }],
      },
    ]);
    const chat = client({ configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }] });
    const response = await chat.create({ messages: hello });
    expect(response.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_1',
          type: 'function',
          function: { name: 'multi_tool_call_echo', arguments: '{"text":"hi"}' },
        },
      ],
    });
    expect(response.finishReason).toBe('tool_calls');
  });

  it('takes the API key from OPENAI_API_KEY and the base URL from OPENAI_BASE_URL', async () => {
    const server = await serve([{ content: 'from env' }]);
    const saved = { key: process.env['OPENAI_API_KEY'], url: process.env['OPENAI_BASE_URL'] };
    process.env['OPENAI_API_KEY'] = 'sk-from-env';
    process.env['OPENAI_BASE_URL'] = server.baseURL;
    try {
      const response = await client({ configList: [{ model: 'gpt-4o-mini' }] }).create({ messages: hello });
      expect(response.message.content).toBe('from env');
      expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-from-env');
    } finally {
      restore('OPENAI_API_KEY', saved.key);
      restore('OPENAI_BASE_URL', saved.url);
    }
  });

  it('needs no API key for a local server given by base URL', async () => {
    const server = await serve([{ content: 'local' }]);
    const saved = process.env['OPENAI_API_KEY'];
    delete process.env['OPENAI_API_KEY'];
    try {
      const response = await client({ configList: [{ model: 'llama3.2', baseURL: server.baseURL }] }).create({
        messages: hello,
      });
      expect(response.message.content).toBe('local');
      expect(server.requests).toHaveLength(1);
    } finally {
      restore('OPENAI_API_KEY', saved);
    }
  });

  it('is what createModelClient builds from a config list', async () => {
    const server = await serve([{ content: 'built' }]);
    const built = createModelClient({
      configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'k' }],
      cacheSeed: null,
    });
    expect(built).toBeInstanceOf(OpenAIChatClient);
    expect((await built.create({ messages: hello })).message.content).toBe('built');
  });

  it('rejects a config list without a model, naming the fix', () => {
    expect(() => new OpenAIChatClient({ configList: [] })).toThrow(InvalidOptionError);
    expect(() => new OpenAIChatClient({ configList: [{ model: '' }] })).toThrow(/each naming a `model`/);
  });

  it('answers an empty choice list with an empty message instead of crashing', async () => {
    const server = await serve([{ noChoices: true, usage: { prompt_tokens: 5, completion_tokens: 0 } }]);
    const response = await client({
      configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'k' }],
    }).create({ messages: hello });
    expect(response.message).toEqual({ role: 'assistant', content: null });
    expect(response.usage.promptTokens).toBe(5);
  });
});

describe('OpenAIChatClient fallback and retries', () => {
  it('falls back to the second config when the first fails', async () => {
    const first = await serve([
      { kind: 'error', status: 404, message: 'The model `gpt-missing` does not exist' },
    ]);
    const second = await serve([{ content: 'second answered' }]);
    const chat = client({
      configList: [
        { model: 'gpt-missing', baseURL: first.baseURL, apiKey: 'k1' },
        { model: 'gpt-4o-mini', baseURL: second.baseURL, apiKey: 'k2' },
      ],
    });
    const response = await chat.create({ messages: hello });
    expect(response.message.content).toBe('second answered');
    expect(response.configIndex).toBe(1);
    // A 404 is not retried: one request to the first server, one to the second.
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(1);
    expect(second.requests[0]!.body.model).toBe('gpt-4o-mini');
    expect(response.attempts).toBe(2);
  });

  it('waits as long as Retry-After says on a 429, then succeeds', async () => {
    const server = await serve([
      { kind: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '1' } },
      { content: 'after the wait' },
    ]);
    const chat = client({ configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'k' }] });
    const started = performance.now();
    const response = await chat.create({ messages: hello });
    const elapsed = performance.now() - started;
    expect(response.message.content).toBe('after the wait');
    expect(response.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    // retryBaseDelayMs is 5 ms here, so only Retry-After explains a wait of about a second.
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });

  it('moves to the next config when Retry-After asks for more than maxRetryDelayMs', async () => {
    const first = await serve([{ kind: 'error', status: 429, headers: { 'retry-after': '3600' } }]);
    const second = await serve([{ content: 'fallback' }]);
    const chat = client({
      maxRetryDelayMs: 2000,
      configList: [
        { model: 'gpt-4o', baseURL: first.baseURL, apiKey: 'k' },
        { model: 'gpt-4o-mini', baseURL: second.baseURL, apiKey: 'k' },
      ],
    });
    const started = performance.now();
    const response = await chat.create({ messages: hello });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(response.configIndex).toBe(1);
    expect(first.requests).toHaveLength(1);
  });

  it('retries 5xx up to maxRetries and names every config and why when all fail', async () => {
    const first = await serve(() => ({ kind: 'error', status: 500, message: 'The server had an error' }));
    const second = await serve(() => ({ kind: 'error', status: 401, message: 'Incorrect API key provided' }));
    const chat = client({
      maxRetries: 2,
      configList: [
        { model: 'gpt-4o', baseURL: first.baseURL, apiKey: 'sk-first-secret' },
        { model: 'gpt-4o-mini', baseURL: second.baseURL, apiKey: 'sk-second-secret' },
      ],
    });
    const error = await chat.create({ messages: hello }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AllConfigsFailedError);
    expect(error).toBeInstanceOf(ModelClientError);
    const failure = error as AllConfigsFailedError;
    expect(first.requests).toHaveLength(3);
    expect(second.requests).toHaveLength(1);
    expect(failure.failures.map((entry) => [entry.model, entry.attempts])).toEqual([
      ['gpt-4o', 3],
      ['gpt-4o-mini', 1],
    ]);
    expect(failure.message).toContain(`configList[0] model gpt-4o at ${first.baseURL} (3 attempts)`);
    expect(failure.message).toContain('The server had an error');
    expect(failure.message).toContain(`configList[1] model gpt-4o-mini at ${second.baseURL} (1 attempt)`);
    expect(failure.message).toContain('Incorrect API key provided');
    expect(failure.message).not.toContain('secret');
  });

  it('retries connection errors', async () => {
    const server = await serve([{ content: 'up' }]);
    const closedPort = await serve([]);
    const deadURL = closedPort.baseURL;
    await closedPort.close();
    const chat = client({
      maxRetries: 1,
      configList: [
        { model: 'gpt-4o', baseURL: deadURL, apiKey: 'k' },
        { model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' },
      ],
    });
    const response = await chat.create({ messages: hello });
    expect(response.configIndex).toBe(1);
    expect(response.attempts).toBe(3);
  });

  it('times out a hanging endpoint after timeoutMs, retries it, then falls back', async () => {
    const hanging = await serve(() => ({ kind: 'hang' }));
    const healthy = await serve([{ content: 'in time' }]);
    const chat = client({
      timeoutMs: 200,
      maxRetries: 1,
      configList: [
        { model: 'gpt-4o', baseURL: hanging.baseURL, apiKey: 'k' },
        { model: 'gpt-4o-mini', baseURL: healthy.baseURL, apiKey: 'k' },
      ],
    });
    const response = await chat.create({ messages: hello });
    expect(response.message.content).toBe('in time');
    expect(hanging.requests).toHaveLength(2);
  });

  it('reports a timeout in words that name timeoutMs', async () => {
    const hanging = await serve(() => ({ kind: 'hang' }));
    const chat = client({
      timeoutMs: 150,
      maxRetries: 0,
      configList: [{ model: 'gpt-4o', baseURL: hanging.baseURL, apiKey: 'k' }],
    });
    await expect(chat.create({ messages: hello })).rejects.toThrow(/timed out.*timeoutMs/);
  });

  it('does not retry a content-filter refusal nor try another config', async () => {
    const filtered = await serve(() => ({
      kind: 'error',
      status: 400,
      code: 'content_filter',
      message: 'The response was filtered due to the prompt triggering content management policy.',
    }));
    const other = await serve([{ content: 'should not be asked' }]);
    const chat = client({
      configList: [
        { model: 'gpt-4o', baseURL: filtered.baseURL, apiKey: 'k' },
        { model: 'gpt-4o', baseURL: other.baseURL, apiKey: 'k' },
      ],
    });
    await expect(chat.create({ messages: hello })).rejects.toBeInstanceOf(ContentFilterError);
    expect(filtered.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);
  });

  it('stops at once when the caller aborts', async () => {
    const hanging = await serve(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    const chat = client({ configList: [{ model: 'gpt-4o', baseURL: hanging.baseURL, apiKey: 'k' }] });
    const pending = chat.create({ messages: hello, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 100);
    await expect(pending).rejects.toThrow('user cancelled');
    expect(hanging.requests).toHaveLength(1);
  });
});

describe('OpenAIChatClient streaming', () => {
  it('calls onTextDelta per fragment and reassembles the text', async () => {
    const server = await serve([
      { content: ['Hel', 'lo ', 'world'], usage: { prompt_tokens: 7, completion_tokens: 3 } },
    ]);
    const deltas: string[] = [];
    const chat = client({
      stream: true,
      configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'k' }],
    });
    const response = await chat.create({ messages: hello, onTextDelta: (delta) => deltas.push(delta) });
    expect(server.requests[0]!.body.stream).toBe(true);
    expect(server.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(deltas).toEqual(['Hel', 'lo ', 'world']);
    expect(response.message).toEqual({ role: 'assistant', content: 'Hello world' });
    expect(response.finishReason).toBe('stop');
    expect(response.usage).toMatchObject({ promptTokens: 7, completionTokens: 3, totalTokens: 10 });
    expect(chat.usage().usageExcludingCachedInference.models['gpt-4o-mini']?.totalTokens).toBe(10);
  });

  it('does not replay an answer that broke off after text was shown', async () => {
    const broken = await serve([{ content: ['Once ', 'upon ', 'a time'], dropAfterChunks: 3 }]);
    const other = await serve([{ content: 'should not be asked' }]);
    const deltas: string[] = [];
    const chat = client({
      stream: true,
      configList: [
        { model: 'gpt-4o', baseURL: broken.baseURL, apiKey: 'k' },
        { model: 'gpt-4o', baseURL: other.baseURL, apiKey: 'k' },
      ],
    });
    const error = await chat
      .create({ messages: hello, onTextDelta: (delta) => deltas.push(delta) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelClientError);
    expect((error as Error).message).toMatch(/broke off after part of it was streamed/);
    expect(deltas).toEqual(['Once ', 'upon ']);
    expect(broken.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);
  });

  it('retries a stream that broke off before any text was shown', async () => {
    const server = await serve([{ content: ['never shown'], dropAfterChunks: 1 }, { content: ['Hello'] }]);
    const deltas: string[] = [];
    const chat = client({
      stream: true,
      configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }],
    });
    const response = await chat.create({ messages: hello, onTextDelta: (delta) => deltas.push(delta) });
    expect(response.message.content).toBe('Hello');
    expect(response.attempts).toBe(2);
    expect(deltas).toEqual(['Hello']);
  });

  it('gives up a stream that goes silent after timeoutMs and retries it when no text was shown', async () => {
    const server = await serve([{ content: ['lost'], hangAfterChunks: 1 }, { content: ['Hi'] }]);
    const deltas: string[] = [];
    const chat = client({
      stream: true,
      timeoutMs: 300,
      configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }],
    });
    const response = await chat.create({ messages: hello, onTextDelta: (delta) => deltas.push(delta) });
    expect(response.message.content).toBe('Hi');
    expect(response.attempts).toBe(2);
    expect(deltas).toEqual(['Hi']);
  });

  it('reports a stream that goes silent after text was shown', async () => {
    const server = await serve([{ content: ['Half ', 'an answer'], hangAfterChunks: 2 }]);
    const chat = client({
      stream: true,
      timeoutMs: 300,
      configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }],
    });
    await expect(chat.create({ messages: hello, onTextDelta: () => undefined })).rejects.toThrow(
      /broke off after part of it was streamed \(the stream sent nothing for 300 ms/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('accepts AutoGen snake_case api_key and base_url in a config', async () => {
    const server = await serve([{ content: 'snake' }]);
    const chat = client({ configList: [{ model: 'gpt-4o', base_url: server.baseURL, api_key: 'sk-snake' }] });
    expect((await chat.create({ messages: hello })).message.content).toBe('snake');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-snake');
  });

  it('reassembles streamed tool calls from their fragments', async () => {
    const server = await serve([
      {
        content: null,
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: ['{"ci', 'ty": "Par', 'is"}'] },
          { id: 'call_b', name: 'tools.add', arguments: ['{"a": 1,', ' "b": 2}'] },
        ],
      },
    ]);
    const deltas: string[] = [];
    const chat = client({
      stream: true,
      configList: [{ model: 'gpt-4o', baseURL: server.baseURL, apiKey: 'k' }],
    });
    const response = await chat.create({ messages: hello, onTextDelta: (delta) => deltas.push(delta) });
    expect(deltas).toEqual([]);
    expect(response.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'tools_add', arguments: '{"a": 1, "b": 2}' } },
      ],
    });
    expect(response.finishReason).toBe('tool_calls');
  });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

describe('missing API key', () => {
  it('prints its message once, not again as a failure and a cause, when left uncaught', async () => {
    const environment = { ...process.env };
    delete environment.OPENAI_API_KEY;
    delete environment.OPENAI_BASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', noKeyChild], {
      cwd: repositoryRoot,
      env: environment,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(
      'MissingModelApiKeyError: No API key for model gpt-4o-mini: set OPENAI_API_KEY or give `apiKey` in its config.',
    );
    expect(stderr.split('No API key for model').length - 1).toBe(1);
    expect(stderr.split('\n').length).toBeLessThan(25);
  });
});

describe('AutoGen option names', () => {
  it('names the hopgen option instead of sending AutoGen keys to the model', () => {
    const configList = [{ model: 'gpt-4o-mini', apiKey: 'sk-x', baseURL: 'http://127.0.0.1:9/v1' }];
    // @ts-expect-error AutoGen's name is not an llmConfig option
    expect(() => new OpenAIChatClient({ configList, timeout: 30 })).toThrow(
      "llmConfig.timeout is AutoGen's option, not hopgen's: use `timeoutMs`, in milliseconds.",
    );
    // @ts-expect-error AutoGen's name is not an llmConfig option
    expect(() => new OpenAIChatClient({ configList, cache_seed: 42 })).toThrow(/use `cacheSeed`/);
    expect(() => new OpenAIChatClient({ configList, timeoutMs: Number.POSITIVE_INFINITY })).toThrow(
      /timeoutMs must be a number of milliseconds/,
    );
  });
});

describe('closed llmConfig', () => {
  it('refuses a misspelt option, as a type error and at run time, also next to a modelClient', () => {
    const configList = [{ model: 'gpt-4o-mini', apiKey: 'sk-x', baseURL: 'http://127.0.0.1:9/v1' }];
    // @ts-expect-error misspelt option
    expect(() => new OpenAIChatClient({ configList, temprature: 0.2 })).toThrow(
      'llmConfig.temprature is not an llmConfig option: fix its spelling, or put fields for the model request in `requestParameters` (e.g. { requestParameters: { temprature: ... } }).',
    );
    const modelClient = new ScriptedModelClient({ replies: ['hi'] });
    // @ts-expect-error model request fields go in requestParameters
    expect(() => createModelClient({ modelClient, top_p: 0.5 })).toThrow(
      /llmConfig\.top_p is not an llmConfig option/,
    );
    expect(
      () =>
        new AssistantAgent({
          name: 'a',
          llmConfig: { modelClient, maxRetries: 1, requestParameters: { top_p: 1 } },
        }),
    ).not.toThrow();
  });
});
