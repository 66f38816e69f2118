import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  type ContentPart,
  contentToString,
  InvalidOptionError,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  type RecordedRequest,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

let sandboxServer: TestServer;
let outputDir: string;
const pool = new ExecutorPool(() => ({
  apiKey: sandboxServer.apiKey,
  baseURL: sandboxServer.baseURL,
  outputDir,
}));
const modelServers: OpenAITestServer[] = [];
const silent: TranscriptRenderer = { messageReceived: () => undefined, notice: () => undefined };

beforeAll(async () => {
  sandboxServer = await startTestServer();
});

afterEach(async () => {
  await pool.closeAll();
  await Promise.all(modelServers.splice(0).map((server) => server.close()));
  await rm(outputDir, { recursive: true, force: true });
  expect(await liveSandboxIds(sandboxServer)).toEqual([]);
});

afterAll(async () => {
  await sandboxServer?.close();
});

/** A block drawing a wide bar chart and saving it under `name` (1600 x 800 pixels at 100 dpi). */
function chartBlock(name: string, values: number[]): string {
  return [
    '```python',
    'import matplotlib.pyplot as plt',
    'plt.figure(figsize=(16, 8), dpi=100)',
    `plt.bar(["north", "south", "east"], ${JSON.stringify(values)})`,
    `plt.savefig("${name}")`,
    'plt.show()',
    '```',
  ].join('\n');
}

function imagePartsOf(content: string | ContentPart[] | null): ContentPart[] {
  return Array.isArray(content) ? content.filter((part) => part.type === 'image_url') : [];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height of the PNG in a data-URL image part, read from its IHDR chunk. */
function decode(part: ContentPart): { width: number; height: number } {
  if (part.type !== 'image_url') throw new Error('not an image part');
  const [header, data] = part.image_url.url.split(',');
  expect(header).toBe('data:image/png;base64');
  const bytes = Buffer.from(data ?? '', 'base64');
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** A plotting assistant and a user proxy that runs its code with `imagesToModel`, the model at a scripted server. */
async function plotAndCritic(
  script: (request: RecordedRequest, index: number) => string,
  codeExecution: Record<string, unknown> = {},
  maxImagesInPrompt?: number,
) {
  outputDir = await mkdtemp(join(tmpdir(), 'hopgen-images-to-model-'));
  const modelServer = await startOpenAITestServer((request, index) => ({ content: script(request, index) }));
  modelServers.push(modelServer);
  const assistant = new AssistantAgent({
    name: 'analyst',
    llmConfig: {
      configList: [{ model: 'gpt-4o-mini', baseURL: modelServer.baseURL, apiKey: 'sk-test' }],
      cacheSeed: null,
      ...(maxImagesInPrompt !== undefined ? { maxImagesInPrompt } : {}),
    },
    renderer: silent,
  });
  const executor = pool.create();
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor, imagesToModel: true, ...codeExecution },
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    renderer: silent,
  });
  return { modelServer, assistant, user };
}

describe('images from the sandbox to a vision model (imagesToModel)', () => {
  it('sends the chart the code saved as an image part after AutoGen text, downscaled, named relative to the output folder', async () => {
    const { modelServer, assistant, user } = await plotAndCritic(
      (_request, index) =>
        index === 0 ? chartBlock('sales_analysis.png', [120, 95, 70]) : 'The chart is clear. TERMINATE',
      { maxImageDimension: 400 },
    );

    const result = await user.initiateChat(assistant, { message: 'Plot sales by region.' });

    expect(modelServer.requests).toHaveLength(2);
    const reply = modelServer.requests[1]!.body.messages.at(-1);
    expect(reply.role).toBe('user');
    expect(reply.content[0]).toEqual({
      type: 'text',
      text: 'exitcode: 0 (execution succeeded)\nCode output: Image saved to sales_analysis.png',
    });
    const images = imagePartsOf(reply.content);
    expect(images).toHaveLength(1);
    const png = decode(images[0]!);
    // Saved at 1600 x 800, sent at 400 x 200: the longer side is capped at maxImageDimension.
    expect([png.width, png.height]).toEqual([400, 200]);
    expect(JSON.stringify(modelServer.requests[1]!.body)).not.toContain(outputDir);
    expect(result.chatHistory).toHaveLength(4);
  });

  it('caps the images of one reply and says how many were left out', async () => {
    const twoCharts = [
      '```python',
      'import matplotlib.pyplot as plt',
      'plt.plot([1, 2]); plt.savefig("first.png"); plt.close()',
      'plt.plot([2, 1]); plt.savefig("second.png"); plt.close()',
      '```',
    ].join('\n');
    const { modelServer, assistant, user } = await plotAndCritic(
      (_request, index) => (index === 0 ? twoCharts : 'TERMINATE'),
      { maxImagesPerMessage: 1 },
    );

    await user.initiateChat(assistant, { message: 'Plot two lines.' });

    const content = modelServer.requests[1]!.body.messages.at(-1).content;
    expect(content.map((part: ContentPart) => part.type)).toEqual(['text', 'text', 'image_url']);
    expect(content[0].text).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: Image saved to first.png\nImage saved to second.png',
    );
    expect(content[1].text).toBe('\n[1 image not shown to the model: over maxImagesPerMessage (1)]');
  });

  it('drops older images from the prompt past maxImagesInPrompt, and keeps them all in the transcript', async () => {
    const { modelServer, assistant, user } = await plotAndCritic(
      (_request, index) =>
        index === 0
          ? chartBlock('draft.png', [1, 2, 3])
          : index === 1
            ? `Let me fix the colours.\n${chartBlock('final.png', [3, 2, 1])}`
            : 'Better. TERMINATE',
      {},
      1,
    );

    const result = await user.initiateChat(assistant, { message: 'Plot it, then improve it.' });

    expect(modelServer.requests).toHaveLength(3);
    const prompt = modelServer.requests[2]!.body.messages;
    const imagesSent = prompt.flatMap((message: { content: string | ContentPart[] }) =>
      imagePartsOf(message.content),
    );
    expect(imagesSent).toHaveLength(1);
    const older = prompt.find((message: { content: unknown }) =>
      JSON.stringify(message.content).includes('Image saved to draft.png'),
    );
    expect(older.content.map((part: ContentPart) => part.type)).toEqual(['text', 'text']);
    expect(older.content[1]).toEqual({ type: 'text', text: '<image>' });
    const newest = prompt.at(-1);
    expect(contentToString(newest.content)).toContain('Image saved to final.png');
    expect(imagePartsOf(newest.content)).toHaveLength(1);
    // The transcript keeps every chart.
    const transcriptImages = result.chatHistory.flatMap((message) => imagePartsOf(message.content));
    expect(transcriptImages).toHaveLength(2);
  });

  it('rejects image limits that cannot work, naming the option', () => {
    outputDir = join(tmpdir(), 'hopgen-images-to-model-unused');
    expect(
      () =>
        new UserProxyAgent({
          name: 'user',
          codeExecutionConfig: { executor: pool.create(), imagesToModel: true, maxImagesPerMessage: 0 },
        }),
    ).toThrow(
      new InvalidOptionError('codeExecutionConfig.maxImagesPerMessage must be a whole number >= 1, got 0.'),
    );
  });
});
