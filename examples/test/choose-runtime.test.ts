import { ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';
import { chooseRuntime } from '../demo/support/choose-runtime.js';
import { Progress } from '../demo/support/progress.js';

const progress = () => new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
const scripts = { assistant: ['hello'] };

describe('chooseRuntime', () => {
  it('uses HopX and an OpenAI-compatible server when their variables are set, and starts nothing', async () => {
    const runtime = await chooseRuntime({
      scripts,
      progress: progress(),
      environment: {
        HOPX_API_KEY: 'key',
        HOPX_BASE_URL: 'http://127.0.0.1:9',
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      },
    });
    expect(runtime.choice).toMatchObject({ sandbox: 'hopx', model: 'openai-compatible' });
    expect(runtime.choice.sandboxDescription).toBe('HopX-compatible server at http://127.0.0.1:9');
    expect(runtime.llmConfig('assistant').modelClient).not.toBeInstanceOf(ScriptedModelClient);
    expect(runtime.sandboxEndpoint).toEqual({ baseURL: 'http://127.0.0.1:9', apiKey: 'key' });
    await runtime.close();
  });

  it('on macOS and Windows without HOPX_API_KEY, says to use HopX cloud or a Linux VM instead of starting anything', async () => {
    for (const platform of ['darwin', 'win32'] as const) {
      await expect(
        chooseRuntime({ scripts, progress: progress(), environment: {}, platform }),
      ).rejects.toThrow(
        `The local sandbox needs Linux, and this is ${platform}. Either use HopX cloud: set HOPX_API_KEY`,
      );
    }
    const runtime = await chooseRuntime({
      scripts,
      progress: progress(),
      environment: { HOPX_API_KEY: 'key' },
      platform: 'darwin',
    });
    expect(runtime.choice.sandbox).toBe('hopx');
    await runtime.close();
  });

  it('names OpenAI and the model when only OPENAI_API_KEY is set', async () => {
    const runtime = await chooseRuntime({
      scripts,
      progress: progress(),
      environment: { HOPX_API_KEY: 'key', OPENAI_API_KEY: 'sk-test', OPENAI_MODEL: 'gpt-4.1-mini' },
    });
    expect(runtime.choice).toMatchObject({ model: 'openai', modelDescription: 'OpenAI gpt-4.1-mini' });
    expect(runtime.choice.sandboxDescription).toBe('HopX cloud (api.hopx.dev)');
    await runtime.close();
  });

  it('offline, starts the local sandbox on 127.0.0.1 and answers from the script', async () => {
    const runtime = await chooseRuntime({ scripts, progress: progress(), environment: {} });
    try {
      expect(runtime.choice.sandbox).toBe('local');
      expect(runtime.sandboxEndpoint.baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = runtime.llmConfig('assistant').modelClient!;
      expect(client).toBeInstanceOf(ScriptedModelClient);
      expect((await client.create({ messages: [] })).message.content).toBe('hello');
      expect(() => runtime.llmConfig('nobody')).toThrow(/No scripted replies for agent 'nobody'/);
      const executor = runtime.createExecutor();
      expect((await executor.executeCodeBlocks([{ code: 'print(6 * 7)', language: 'python' }])).output).toBe(
        '42\n',
      );
    } finally {
      await runtime.close();
    }
    // close() stopped the server: nothing answers there any more.
    await expect(fetch(`${runtime.sandboxEndpoint.baseURL}/health`)).rejects.toThrow();
  });
});
