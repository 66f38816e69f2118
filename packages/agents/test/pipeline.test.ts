import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  definePipeline,
  FileRunStore,
  GroupChat,
  GroupChatManager,
  InMemoryRunStore,
  InvalidOptionError,
  PipelineError,
  pendingRequests,
  provideInput,
  type RunEvent,
  resumePipeline,
  startChat,
  startPipeline,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const quiet = { silent: true } as const;
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function fileStore(): FileRunStore {
  const directory = mkdtempSync(join(tmpdir(), 'hopgen-pipelines-'));
  folders.push(directory);
  return new FileRunStore({ directory });
}

/** A model whose answer depends only on the prompt, so a resumed run gets the same answers. */
function echoModel() {
  let calls = 0;
  const model = new ScriptedModelClient({
    replies: (request) => {
      calls += 1;
      const turns = request.messages.filter((message) => message.role === 'user').length;
      return `answer ${turns} about ${String(request.messages[1]?.content).split('\n')[0]}`;
    },
  });
  return { model, calls: () => calls };
}

/** A pipeline whose user asks a person after each answer, so a run waits on a stored request. */
function reportPipeline(model: ScriptedModelClient, builds: { input: unknown; runId: string }[]) {
  return definePipeline({
    name: 'report',
    input: z.object({ topic: z.string().min(1), rounds: z.number().int().positive().default(3) }),
    build: (input, { runId }) => {
      builds.push({ input, runId });
      const writer = new AssistantAgent({ name: 'writer', llmConfig: { modelClient: model }, ...quiet });
      const editor = new UserProxyAgent({ name: 'editor', humanInputMode: 'ALWAYS', ...quiet });
      return {
        agents: [writer, editor],
        chat: {
          sender: editor,
          recipient: writer,
          message: `Write about ${input.topic}.`,
          maxTurns: input.rounds,
        },
      };
    },
  });
}

async function nextEvent(events: AsyncIterable<RunEvent>, type: string): Promise<RunEvent> {
  for await (const event of events) if (event.type === type) return event;
  throw new Error(`the run ended without ${type}`);
}

describe('pipelines', () => {
  it('stores the pipeline name and JSON input in the header, and another process resumes from them alone', async () => {
    const store = fileStore();
    const { model } = echoModel();
    const builds: { input: unknown; runId: string }[] = [];
    const controller = new AbortController();
    const run = await startPipeline(
      reportPipeline(model, builds),
      { topic: 'tides' },
      { store, runId: 'tides', signal: controller.signal },
    );
    await nextEvent(run.events(), 'human-input-requested');
    controller.abort();
    await run.result.catch(() => undefined);

    // "Another process": a new store instance and a new pipeline object, nothing shared but the folder.
    const other = new FileRunStore({ directory: store.directory });
    const stored = await other.loadRun('tides');
    expect(stored?.header).toMatchObject({
      schemaVersion: 2,
      pipeline: { name: 'report', input: { topic: 'tides' } },
    });
    const [pending] = await pendingRequests(other, 'tides');
    await provideInput(other, 'tides', pending!.requestId, 'shorter please');

    const fresh = echoModel();
    const resumed = await resumePipeline(reportPipeline(fresh.model, builds), 'tides', { store: other });
    const after = (await other.loadRun('tides'))?.entries.at(-1)?.sequence ?? 0;
    const waiting = await nextEvent(resumed.events({ after }), 'human-input-requested');
    await resumed.provideInput(waiting.key, 'exit');
    const [result] = await resumed.result;

    // The schema's default was applied to the stored input both times; the run id is the same.
    expect(builds).toEqual([
      { input: { topic: 'tides', rounds: 3 }, runId: 'tides' },
      { input: { topic: 'tides', rounds: 3 }, runId: 'tides' },
    ]);
    expect(result?.humanInput).toEqual(['shorter please', 'exit']);
    expect(result?.chatHistory.map((message) => message.content)).toEqual([
      'Write about tides.',
      'answer 1 about Write about tides.',
      'shorter please',
      'answer 2 about Write about tides.',
    ]);
    // The first answer came from the log: the resumed process called its model once.
    expect(fresh.calls()).toBe(1);
    expect((await resumed.snapshot()).pipeline).toEqual({ name: 'report', input: { topic: 'tides' } });
  });

  it('refuses an input that does not match the schema, naming the field, and creates no run', async () => {
    const store = new InMemoryRunStore();
    const pipeline = reportPipeline(echoModel().model, []);
    const attempt = startPipeline(pipeline, { topic: 42 } as never, { store });
    await expect(attempt).rejects.toBeInstanceOf(PipelineError);
    await expect(startPipeline(pipeline, { topic: 42 } as never, { store })).rejects.toThrow(
      /input of pipeline 'report' is not valid: field 'topic': .*expected string.* Pass startPipeline\(pipeline, input\)/,
    );
    await expect(startPipeline(pipeline, { topic: 'x', rounds: 0 }, { store })).rejects.toThrow(
      /field 'rounds'/,
    );
    expect(await store.listRuns()).toEqual([]);
  });

  it('refuses to resume a run of another pipeline or of startChat, saying what started it', async () => {
    const store = new InMemoryRunStore();
    const { model } = echoModel();
    const builds: { input: unknown; runId: string }[] = [];
    const controller = new AbortController();
    const run = await startPipeline(
      reportPipeline(model, builds),
      { topic: 'moon' },
      {
        store,
        runId: 'moon',
        signal: controller.signal,
      },
    );
    await nextEvent(run.events(), 'human-input-requested');
    controller.abort();
    await run.result.catch(() => undefined);
    const other = definePipeline({ name: 'other', build: reportPipeline(model, builds).build });
    await expect(resumePipeline(other, 'moon', { store })).rejects.toThrow(
      /Run moon was started by pipeline 'report', so pipeline 'other' cannot resume it/,
    );

    const writer = new AssistantAgent({ name: 'writer', llmConfig: { modelClient: model }, ...quiet });
    const editor = new UserProxyAgent({ name: 'editor', humanInputMode: 'NEVER', ...quiet });
    await (await startChat(editor, writer, { message: 'hi', maxTurns: 1, store, runId: 'plain' })).result;
    await expect(resumePipeline(reportPipeline(model, builds), 'plain', { store })).rejects.toThrow(
      /started by startChat or startChats, not a pipeline.*resumeRun/,
    );
    expect(builds).toHaveLength(1);
  });

  it('runs a group chat through its manager and an initiateChats queue, both resumable by resumeRun too', async () => {
    const store = new InMemoryRunStore();
    const { model, calls } = echoModel();
    const team = definePipeline({
      name: 'team',
      build: (_input: undefined) => {
        const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', ...quiet });
        const first = new AssistantAgent({ name: 'first', llmConfig: { modelClient: model }, ...quiet });
        const second = new AssistantAgent({ name: 'second', llmConfig: { modelClient: model }, ...quiet });
        const groupchat = new GroupChat({
          agents: [user, first, second],
          speakerSelectionMethod: 'round_robin',
          maxRound: 3,
        });
        const manager = new GroupChatManager({ groupchat, ...quiet });
        return {
          agents: [user, first, second, manager],
          chat: { sender: user, recipient: manager, message: 'go', silent: true },
        };
      },
    });
    const group = await startPipeline(team, undefined, { store, runId: 'group' });
    const [groupResult] = await group.result;
    expect(groupResult?.chatHistory.map((message) => message.name)).toEqual(['user', 'first', 'second']);
    expect((await store.loadRun('group'))?.header.pipeline).toEqual({ name: 'team' });

    const steps = definePipeline({
      name: 'steps',
      input: z.array(z.string()),
      build: (tasks) => {
        const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', ...quiet });
        const worker = new AssistantAgent({ name: 'worker', llmConfig: { modelClient: model }, ...quiet });
        return {
          agents: [user, worker],
          chats: tasks.map((task) => ({
            sender: user,
            recipient: worker,
            message: task,
            maxTurns: 1,
            silent: true,
          })),
        };
      },
    });
    const queue = await startPipeline(steps, ['one', 'two'], { store, runId: 'queue' });
    const results = await queue.result;
    expect(results.map((result) => result.summary)).toEqual(['answer 1 about one', 'answer 1 about two']);
    // A finished pipeline run resumed by resumePipeline replays without a model call.
    const callsBefore = calls();
    const replay = await resumePipeline(steps, 'queue', { store });
    expect((await replay.result).map((result) => result.summary)).toEqual(
      results.map((result) => result.summary),
    );
    expect(calls()).toBe(callsBefore);
  });

  it('checks the definition when it is made', () => {
    expect(() => definePipeline({ name: '', build: () => ({ agents: [], chats: [] }) })).toThrow(
      InvalidOptionError,
    );
    expect(() => definePipeline({ name: 'x', build: 'nope' } as never)).toThrow(
      /needs build\(input, \{ runId \}\)/,
    );
    expect(() =>
      definePipeline({ name: 'x', input: {} as never, build: () => ({ agents: [], chats: [] }) }),
    ).toThrow(/must be a zod schema/);
  });
});
