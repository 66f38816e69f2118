import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  FileRunStore,
  InMemoryRunStore,
  LocalCommandLineCodeExecutor,
  type RunEvent,
  readRunEvents,
  resumeRun,
  startChat,
  UserProxyAgent,
} from '@hopgen/agents';
import { endListenerCount } from '@hopgen/agents/internal';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { useOpenAITestServers } from './support/openai-test-server.js';

const quiet = { silent: true } as const;
const server = useOpenAITestServers();
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function folder(): string {
  const directory = mkdtempSync(join(tmpdir(), 'hopgen-run-events-'));
  folders.push(directory);
  return directory;
}

/** A coder whose first answer is `code` and whose next one ends the chat. */
function coderAndRunner(code: string, workDir: string) {
  const model = new ScriptedModelClient({
    replies: (request) =>
      String(request.messages.at(-1)?.content).startsWith('exitcode') ? 'TERMINATE' : code,
  });
  const coder = new AssistantAgent({ name: 'coder', llmConfig: { modelClient: model }, ...quiet });
  const runner = new UserProxyAgent({
    name: 'runner',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor: new LocalCommandLineCodeExecutor({ workDir }) },
    isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
    ...quiet,
  });
  return { coder, runner };
}

describe('code output while a block runs', () => {
  it('arrives as code-output events before the block ends, is stored, and replays with the step id', async () => {
    const store = new FileRunStore({ directory: folder() });
    const { coder, runner } = coderAndRunner(
      '```sh\necho first\nsleep 1\necho second >&2\necho third\n```',
      folder(),
    );
    const live: { stepId: string; stream: string; text: string }[] = [];
    runner.on('code-output', ({ stepId, stream, text }) => live.push({ stepId, stream, text }));
    const run = await startChat(runner, coder, { message: 'print things', store, runId: 'prints' });

    // The first line is seen while the block still sleeps: its end is not in the store yet.
    let first: RunEvent | undefined;
    for await (const event of run.events()) {
      if (event.type === 'code-output') {
        first = event;
        break;
      }
    }
    const stepId = String(first?.data['stepId']);
    expect(first?.data['chunks']).toEqual([{ stream: 'stdout', text: 'first\n' }]);
    const whileRunning = (await store.loadRun('prints'))?.entries.map((entry) => entry.key) ?? [];
    expect(whileRunning).toContain(stepId);
    expect(whileRunning).not.toContain(`${stepId}.end`);
    expect(live).toEqual([{ stepId, stream: 'stdout', text: 'first\n' }]);

    const [result] = await run.result;
    // The model-visible result is unchanged: AutoGen's layout, stderr first.
    expect(result?.chatHistory[2]?.content).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: second\nfirst\nthird\n',
    );
    const replayed: RunEvent[] = [];
    for await (const event of readRunEvents(new FileRunStore({ directory: store.directory }), 'prints')) {
      replayed.push(event);
    }
    const outputs = replayed.filter((event) => event.type === 'code-output');
    expect(
      outputs.every((event) => event.data['stepId'] === stepId && event.data['agent'] === 'runner'),
    ).toBe(true);
    const chunks = outputs.flatMap((event) => event.data['chunks'] as { stream: string; text: string }[]);
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('first\nsecond\nthird\n');
    expect(chunks.find((chunk) => chunk.text === 'second\n')?.stream).toBe('stderr');
    // Between the block's start and its end, in the log's order.
    const position = (key: string) => replayed.findIndex((event) => event.key === key);
    for (const output of outputs) {
      expect(position(output.key)).toBeGreaterThan(position(stepId));
      expect(position(output.key)).toBeLessThan(position(`${stepId}.end`));
    }
  });

  it('coalesces a chatty block into at most one entry per 50 ms, losing nothing', async () => {
    const store = new InMemoryRunStore();
    const { coder, runner } = coderAndRunner(
      '```sh\nfor i in $(seq 1 3000); do echo "line $i"; done\nsleep 0.3\necho done\n```',
      folder(),
    );
    let chunks = 0;
    runner.on('code-output', () => {
      chunks += 1;
    });
    const started = Date.now();
    const run = await startChat(runner, coder, { message: 'print a lot', store });
    await run.result;
    const elapsed = Date.now() - started;
    const entries = (await store.loadRun(run.id))?.entries ?? [];
    const outputs = entries.filter((entry) => entry.type === 'code-output');
    const text = outputs
      .flatMap((entry) => entry.data['chunks'] as { text: string }[])
      .map((chunk) => chunk.text)
      .join('');
    const expected = `${Array.from({ length: 3000 }, (_, index) => `line ${index + 1}\n`).join('')}done\n`;
    expect(text).toBe(expected);
    // Entries are at least 50 ms apart (the block ran for under `elapsed` ms), however many chunks came.
    expect(outputs.length).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 1);
    expect(outputs.length).toBeLessThan(chunks);
  });
});

describe('run-checkpointed', () => {
  it('follows every message and every side effect end in the same append, naming what it checkpoints', async () => {
    const store = new InMemoryRunStore();
    const model = new ScriptedModelClient({ replies: ['one', 'two TERMINATE'] });
    const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model }, ...quiet });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      defaultAutoReply: 'go on',
      isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
      ...quiet,
    });
    const run = await startChat(user, assistant, { message: 'start', store });
    const seen: RunEvent[] = [];
    for await (const event of run.events()) seen.push(event);
    const checkpointed = seen.filter((event) => event.type === 'run-checkpointed');
    const announced = seen.filter((event) => event.type === 'message-sent' || event.type.endsWith('-end'));
    expect(announced.length).toBeGreaterThan(4);
    expect(checkpointed.map((event) => event.data['key'])).toEqual(announced.map((event) => event.key));
    for (const checkpoint of checkpointed) {
      const previous = seen[seen.indexOf(checkpoint) - 1];
      expect(previous?.key).toBe(checkpoint.data['key']);
      expect(checkpoint.sequence).toBe((previous?.sequence ?? 0) + 1);
    }
    // Starts and streamed pieces are not checkpoints.
    expect(checkpointed.some((event) => String(event.data['key']).endsWith(':2'))).toBe(false);
  });
});

describe('text deltas of a model call made again', () => {
  it('replays only the new call deltas, under new keys, with no mix of the two calls', async () => {
    const store = new FileRunStore({ directory: folder() });
    const model = await server((_request, index) =>
      index === 0
        ? { content: ['Old ', 'answer ', 'that ', 'died'], dropAfterChunks: 3 }
        : { content: ['New ', 'answer TERMINATE'] },
    );
    const make = () => {
      const assistant = new AssistantAgent({
        name: 'assistant',
        llmConfig: {
          configList: [{ model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'sk-test' }],
          cacheSeed: null,
          maxRetries: 0,
          stream: true,
        },
        ...quiet,
      });
      const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', ...quiet });
      return { assistant, user };
    };
    const first = make();
    const run = await startChat(first.user, first.assistant, {
      message: 'start',
      maxTurns: 1,
      store,
      runId: 'retry',
    });
    await expect(run.result).rejects.toThrow();
    const before = (await store.loadRun('retry'))?.entries ?? [];
    const oldDeltas = before.filter((entry) => entry.type === 'text-delta');
    expect(oldDeltas.map((entry) => entry.data['delta']).join('')).toBe('Old answer ');

    const second = make();
    const [result] = await (await resumeRun('retry', { agents: [second.user, second.assistant], store }))
      .result;
    expect(result?.chatHistory.at(-1)?.content).toBe('New answer TERMINATE');

    const entries = (await store.loadRun('retry'))?.entries ?? [];
    const keys = entries.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(keys.length);
    const messageId = String(oldDeltas[0]?.data['messageId']);
    expect(keys).toContain(`${messageId}.retry1`);
    const replayed: RunEvent[] = [];
    for await (const event of readRunEvents(store, 'retry')) replayed.push(event);
    const deltas = replayed.filter(
      (event) => event.type === 'text-delta' && event.data['messageId'] === messageId,
    );
    expect(deltas.map((event) => event.data['delta']).join('')).toBe('New answer TERMINATE');
    expect(deltas.every((event) => event.key.startsWith(`${messageId}.retry1.delta`))).toBe(true);
    expect(deltas.every((event) => event.data['attempt'] === 1)).toBe(true);
    const message = replayed.find(
      (event) => event.type === 'message-sent' && event.data['messageId'] === messageId,
    );
    expect((message?.data['message'] as { content?: string })?.content).toBe('New answer TERMINATE');
  });
});

describe('readers of run events', () => {
  it('leave no listener on a shared signal once they have ended', async () => {
    const store = new InMemoryRunStore();
    await store.createRun({ schemaVersion: 2, runId: 'ended', createdAt: Date.now(), definition: {} });
    await store.append('ended', [{ key: 'end', type: 'run-finished', time: Date.now(), data: {} }]);
    const shared = new AbortController();
    for (let reader = 0; reader < 20; reader++) {
      const events: RunEvent[] = [];
      for await (const event of readRunEvents(store, 'ended', { signal: shared.signal })) events.push(event);
      expect(events.map((event) => event.type)).toEqual(['run-finished']);
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});

describe('event streams of a long run', () => {
  it('leave no end listener on the run once closed: 1,000 readers that came and went hold nothing', async () => {
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: ['Hello.'] }) },
      ...quiet,
    });
    // Waits for a person, so the run goes on while the readers come and go.
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', ...quiet });
    const run = await startChat(user, assistant, { message: 'Hi.', store: new InMemoryRunStore() });
    let last = 0;
    for await (const event of run.events()) {
      last = event.sequence;
      if (event.type === 'human-input-requested') break;
    }
    expect(endListenerCount(run)).toBe(0);
    const open = async (count: number) => {
      const readers = Array.from({ length: count }, () => {
        const controller = new AbortController();
        const iterator = run.events({ after: last, signal: controller.signal })[Symbol.asyncIterator]();
        return { controller, next: iterator.next() };
      });
      // Each reader is waiting for the next event (none comes while the run waits for a person).
      await new Promise((resolve) => setImmediate(resolve));
      return readers;
    };
    const watching = await open(10);
    expect(endListenerCount(run)).toBe(10);
    for (const reader of watching) reader.controller.abort();
    for (const reader of watching) expect((await reader.next).done).toBe(true);
    for (let round = 0; round < 10; round++) {
      const readers = await open(100);
      for (const reader of readers) reader.controller.abort();
      await Promise.all(readers.map((reader) => reader.next));
    }
    expect(endListenerCount(run)).toBe(0);
    // A reader still open when the run ends is told, and ends with the run.
    const [staying] = await open(1);
    await run.cancel();
    expect((await staying!.next).value?.type).toBe('run-stopped');
    expect(endListenerCount(run)).toBe(0);
  });
});
