import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssistantAgent, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let server: TestServer;
let outputDir: string;
const pool = new ExecutorPool(() => ({ apiKey: server.apiKey, baseURL: server.baseURL, outputDir }));

beforeAll(async () => {
  server = await startTestServer();
  outputDir = await mkdtemp(join(tmpdir(), 'hopgen-e2e-'));
});

afterEach(async () => {
  await pool.closeAll();
  expect(await liveSandboxIds(server)).toEqual([]);
});

afterAll(async () => {
  await server?.close();
  await rm(outputDir, { recursive: true, force: true });
});

const endsWithTerminate = (message: { content?: unknown }) =>
  String(message.content ?? '')
    .trimEnd()
    .endsWith('TERMINATE');

const python = (...lines: string[]) => ['```python', ...lines, '```'].join('\n');

describe('AssistantAgent and UserProxyAgent with a HopXCodeExecutor', () => {
  it('solve "sum of the first 100 primes" with the code run in a sandbox', async () => {
    const model = new ScriptedModelClient({
      replies: [
        `Plan: trial division, then sum.\n${python(
          'primes = []',
          'n = 2',
          'while len(primes) < 100:',
          '    if all(n % p for p in primes if p * p <= n):',
          '        primes.append(n)',
          '    n += 1',
          'print(sum(primes))',
        )}`,
        'The sum of the first 100 prime numbers is 24133.\nTERMINATE',
      ],
    });
    const executor = pool.create();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: model },
      silent: true,
    });
    const user = new UserProxyAgent({
      name: 'user_proxy',
      humanInputMode: 'NEVER',
      isTerminationMsg: endsWithTerminate,
      codeExecutionConfig: { executor },
      silent: true,
    });

    const result = await user.initiateChat(assistant, {
      message: 'Calculate the first 100 prime numbers and find their sum.',
    });

    expect(result.chatHistory[2]?.content).toBe('exitcode: 0 (execution succeeded)\nCode output: 24133\n');
    expect(model.requests[1]?.messages.at(-1)).toMatchObject({
      role: 'user',
      content: expect.stringContaining('24133'),
    });
    expect(result.terminationReason).toBe('termination-message');
  });

  it('keep a pandas DataFrame across three turns and download the histogram it saved', async () => {
    const model = new ScriptedModelClient({
      replies: [
        python(
          'import pandas as pd',
          'df = pd.DataFrame({"A": [1, 2, 3, 4], "B": [2, 3, 4, 5], "C": [3, 4, 5, 6]})',
          'print(df.shape)',
        ),
        python('df["D"] = df["A"] + df["B"] * df["C"]', 'print(df["D"].tolist())'),
        python(
          'import matplotlib.pyplot as plt',
          'ax = df["D"].plot.hist(bins=4)',
          'ax.figure.savefig("/workspace/histogram.png")',
          'print("saved", list(df.columns))',
        ),
        'The histogram is in /workspace/histogram.png.\nTERMINATE',
      ],
    });
    const executor = pool.create();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: model },
      silent: true,
    });
    const user = new UserProxyAgent({
      name: 'user_proxy',
      humanInputMode: 'NEVER',
      isTerminationMsg: endsWithTerminate,
      codeExecutionConfig: { executor },
      silent: true,
    });

    const result = await user.initiateChat(assistant, {
      message: 'Build a DataFrame df with columns A, B, C; add D = A + B * C; save a histogram of D.',
    });

    const outputs = result.chatHistory.map((message) => String(message.content ?? ''));
    expect(outputs).toContain('exitcode: 0 (execution succeeded)\nCode output: (4, 3)\n');
    expect(outputs).toContain('exitcode: 0 (execution succeeded)\nCode output: [7, 14, 23, 34]\n');
    const third = outputs.find((content) => content.includes("saved ['A', 'B', 'C', 'D']"));
    expect(third).toMatch(
      /^exitcode: 0 \(execution succeeded\)\nCode output: saved \['A', 'B', 'C', 'D'\]\n/,
    );
    expect(result.terminationReason).toBe('termination-message');

    const png = await executor.downloadFile('/workspace/histogram.png');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBeGreaterThan(1_000);
  });
});
