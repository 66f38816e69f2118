import { InMemoryRunStore } from '@hopgen/agents';
import {
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { type RunningServer, serve } from '../src/index.js';
import { callApi, readEvents } from './support/api-client.js';
import { askingTeam } from './support/test-pipelines.js';

let model: OpenAITestServer;
let server: RunningServer;

beforeAll(async () => {
  model = await startOpenAITestServer(() => ({ content: ['The answer ', 'is ', 'ready.'] }));
  server = await serve({
    pipelines: [askingTeam(model.baseURL, { name: 'asking' })],
    store: new InMemoryRunStore(),
  });
});

afterAll(async () => {
  await server.close();
  await model.close();
});

/** Reads the endpoint with the AI SDK's own parser and reader, as useChat does. */
async function readRunAsUiMessage(
  runId: string,
): Promise<{ message: UIMessage | undefined; errors: unknown[] }> {
  const response = await fetch(`${server.url}/api/runs/${runId}/ui-message-stream`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
  const errors: unknown[] = [];
  const chunks = parseJsonEventStream({ stream: response.body!, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream<{ success: boolean; value?: UIMessageChunk; error?: unknown }, UIMessageChunk>({
      transform(result, controller) {
        if (result.success) controller.enqueue(result.value!);
        else errors.push(result.error);
      },
    }),
  );
  let message: UIMessage | undefined;
  for await (const update of readUIMessageStream({
    stream: chunks,
    onError: (error) => errors.push(error),
  })) {
    message = update;
  }
  return { message, errors };
}

describe('the run as an AI SDK UI message stream', () => {
  it('reads as one assistant message: the agents’ texts, who said them, the request and how the chat ended', async () => {
    await callApi(server.url, 'POST', '/api/runs', {
      token: server.token,
      body: { pipeline: 'asking', input: { task: 'Say hi.' }, runId: 'ui' },
    });
    const [requested] = await readEvents(server.url, server.token, 'ui', {
      until: (event) => event.data.type === 'human-input-requested',
    }).then((events) => events.filter((event) => event.data.type === 'human-input-requested'));
    await callApi(
      server.url,
      'POST',
      `/api/runs/ui/requests/${encodeURIComponent(requested!.data.key)}/input`,
      {
        token: server.token,
        body: { text: 'exit' },
      },
    );

    const { message, errors } = await readRunAsUiMessage('ui');
    expect(errors).toEqual([]);
    expect(message?.id).toBe('ui');
    expect(message?.role).toBe('assistant');
    const parts = message!.parts as Array<{ type: string; text?: string; data?: any; state?: string }>;
    const texts = parts.filter((part) => part.type === 'text');
    expect(texts.map((part) => part.text)).toEqual(['Say hi.', 'The answer is ready.']);
    expect(texts.every((part) => part.state === 'done')).toBe(true);
    const speakers = parts.filter((part) => part.type === 'data-speaker').map((part) => part.data.sender);
    expect(speakers).toEqual(['user', 'assistant']);
    const request = parts.find((part) => part.type === 'data-request');
    expect(request?.data).toMatchObject({ kind: 'human-input', open: false, answer: { text: 'exit' } });
    expect(parts.find((part) => part.type === 'data-termination')?.data).toMatchObject({
      reason: 'human-exit',
    });
  });
});
