import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  type CodeBlock,
  CodeExecutionError,
  type CodeExecutor,
  type CodeResult,
  ConversableAgent,
  defineTool,
  FileRunStore,
  GroupChat,
  GroupChatManager,
  HopgenError,
  INTERRUPTED_CODE_OUTPUT,
  InMemoryRunStore,
  MarkdownCodeExtractor,
  NotDurableError,
  pendingRequests,
  provideInput,
  RequestAnswerError,
  RunDivergedError,
  type RunEvent,
  RunLockedError,
  readRunEvents,
  reject,
  resumeRun,
  startChat,
  startChats,
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
  const directory = mkdtempSync(join(tmpdir(), 'hopgen-runs-'));
  folders.push(directory);
  return new FileRunStore({ directory });
}

/** A model whose answer depends only on the prompt, so a resumed run gets the same answers. */
function countingModel(options: { failAt?: number; finishAfter?: number } = {}) {
  let calls = 0;
  const model = new ScriptedModelClient({
    replies: (request) => {
      calls += 1;
      if (options.failAt === calls) throw new Error('the model process died');
      const turns = request.messages.filter((message) => message.role === 'user').length;
      return turns >= (options.finishAfter ?? 3) ? `answer ${turns} TERMINATE` : `answer ${turns}`;
    },
  });
  return { model, calls: () => calls };
}

function pair(model: ScriptedModelClient) {
  const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model }, ...quiet });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    defaultAutoReply: 'go on',
    isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
    ...quiet,
  });
  return { assistant, user };
}

function transcript(messages: readonly { content?: unknown; name?: string }[]): string[] {
  return messages.map((message) => `${message.name ?? '?'}: ${String(message.content)}`);
}

describe('durable two-agent chats', () => {
  it('stores every message and step, and a resumed run replays them without calling the model again', async () => {
    const store = fileStore();
    const first = countingModel();
    const { assistant, user } = pair(first.model);
    const run = await startChat(user, assistant, { message: 'start', store });
    const [result] = await run.result;
    expect(result?.terminationReason).toBe('termination-message');
    expect(first.calls()).toBe(3);

    const snapshot = await run.snapshot();
    expect(snapshot.status).toBe('finished');
    expect(snapshot.entries.filter((entry) => entry.type === 'message-sent')).toHaveLength(6);
    expect(snapshot.entries.filter((entry) => entry.type === 'model-call-end')).toHaveLength(3);

    const again = countingModel();
    const fresh = pair(again.model);
    const resumed = await resumeRun(JSON.parse(JSON.stringify(snapshot)), {
      agents: [fresh.user, fresh.assistant],
    });
    const [replayed] = await resumed.result;
    expect(again.calls()).toBe(0);
    expect(transcript(replayed!.chatHistory)).toEqual(transcript(result!.chatHistory));
  });

  it('makes a model call again when the run died before its answer was stored', async () => {
    const store = fileStore();
    const failing = countingModel({ failAt: 2 });
    const first = pair(failing.model);
    const run = await startChat(first.user, first.assistant, { message: 'start', store, runId: 'dies-once' });
    await expect(run.result).rejects.toThrow(/the model process died/);

    const healthy = countingModel();
    const second = pair(healthy.model);
    const resumed = await resumeRun('dies-once', { agents: [second.user, second.assistant], store });
    const [result] = await resumed.result;
    // The first answer came from the log; the failed call and the last one were made again.
    expect(healthy.calls()).toBe(2);
    const reference = pair(countingModel().model);
    const expected = await reference.user.initiateChat(reference.assistant, { message: 'start' });
    expect(transcript(result!.chatHistory)).toEqual(transcript(expected.chatHistory));
  });

  it('tells the model that a code block whose result was never stored was interrupted, and does not run it again', async () => {
    const store = new InMemoryRunStore();
    let runs = 0;
    const dyingExecutor: CodeExecutor = {
      codeExtractor: new MarkdownCodeExtractor(),
      async executeCodeBlocks(_blocks: CodeBlock[]): Promise<CodeResult> {
        runs += 1;
        throw new Error('the process died while the code ran');
      },
      async restart() {},
      async close() {},
    };
    const model = new ScriptedModelClient({
      replies: (request) =>
        String(request.messages.at(-1)?.content).includes('interrupted')
          ? 'TERMINATE'
          : '```python\nprint(1)\n```',
    });
    const coder = () => new AssistantAgent({ name: 'coder', llmConfig: { modelClient: model }, ...quiet });
    const runner = (executor: CodeExecutor) =>
      new UserProxyAgent({
        name: 'runner',
        humanInputMode: 'NEVER',
        codeExecutionConfig: { executor },
        ...quiet,
      });
    const run = await startChat(runner(dyingExecutor), coder(), {
      message: 'write code',
      store,
      runId: 'code',
    });
    await expect(run.result).rejects.toThrow(/died while the code ran/);
    expect(runs).toBe(1);

    const resumed = await resumeRun('code', { agents: [runner(dyingExecutor), coder()], store });
    const [result] = await resumed.result;
    expect(runs).toBe(1);
    expect(result?.chatHistory.map((message) => message.content)).toContain(
      `exitcode: 1 (execution failed)\nCode output: ${INTERRUPTED_CODE_OUTPUT}`,
    );
  });

  it('keeps its budgets across a resume, counting the answers of the process that died', async () => {
    const store = fileStore();
    const budget = { maxTokens: 1500, maxTurns: 20 };
    const reference = pair(countingModel({ finishAfter: 99 }).model);
    const expected = await reference.user.initiateChat(reference.assistant, {
      message: 'start',
      ...budget,
      ...quiet,
    });
    expect(expected.terminationReason).toBe('budget-exceeded');
    // The crash below happens before the budget runs out.
    expect(expected.chatHistory.length).toBeGreaterThan(4);

    const first = pair(countingModel({ failAt: 3, finishAfter: 99 }).model);
    const run = await startChat(first.user, first.assistant, {
      message: 'start',
      ...budget,
      store,
      runId: 'budget',
    });
    await expect(run.result).rejects.toThrow(/the model process died/);
    const stored = await store.loadRun('budget');
    expect(stored?.header.definition).toMatchObject({ flow: { options: { maxTokens: 1500 } } });

    const second = pair(countingModel({ finishAfter: 99 }).model);
    const resumed = await resumeRun('budget', { agents: [second.user, second.assistant], store });
    const [result] = await resumed.result;
    expect(result?.terminationReason).toBe('budget-exceeded');
    expect(transcript(result!.chatHistory)).toEqual(transcript(expected.chatHistory));
  });

  it('runs a block on resume when the executor failed before running anything, without the interrupted notice', async () => {
    const store = new InMemoryRunStore();
    let runs = 0;
    const executor = (available: boolean): CodeExecutor => ({
      codeExtractor: new MarkdownCodeExtractor(),
      async executeCodeBlocks(): Promise<CodeResult> {
        if (!available) throw new CodeExecutionError('No sandbox could be created.', { nothingRan: true });
        runs += 1;
        return { exitCode: 0, output: 'ran\n' };
      },
      async restart() {},
      async close() {},
    });
    const model = new ScriptedModelClient({
      replies: (request) =>
        String(request.messages.at(-1)?.content).startsWith('exitcode')
          ? 'TERMINATE'
          : '```python\nprint(1)\n```',
    });
    const coder = () => new AssistantAgent({ name: 'coder', llmConfig: { modelClient: model }, ...quiet });
    const runner = (available: boolean) =>
      new UserProxyAgent({
        name: 'runner',
        humanInputMode: 'NEVER',
        codeExecutionConfig: { executor: executor(available) },
        isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
        ...quiet,
      });
    const run = await startChat(runner(false), coder(), { message: 'write code', store, runId: 'not-run' });
    await expect(run.result).rejects.toThrow(/No sandbox could be created/);
    const types = (await store.loadRun('not-run'))?.entries.map((entry) => entry.type);
    expect(types).toContain('code-execution-not-run');

    const resumed = await resumeRun('not-run', { agents: [runner(true), coder()], store });
    const [result] = await resumed.result;
    expect(runs).toBe(1);
    const contents = result?.chatHistory.map((message) => message.content);
    expect(contents).toContain('exitcode: 0 (execution succeeded)\nCode output: ran\n');
    expect(contents?.join('\n')).not.toContain(INTERRUPTED_CODE_OUTPUT);
  });

  it('raises RunDivergedError when the log has another kind of step at a key than the resumed run makes', async () => {
    const { assistant, user } = pair(countingModel().model);
    const run = await startChat(user, assistant, { message: 'start', store: new InMemoryRunStore() });
    await run.result;
    const snapshot = await run.snapshot();
    const end = snapshot.entries.find((entry) => entry.type === 'model-call-end');
    // The same key, but the log says a tool call ended there.
    end!.type = 'tool-call-end';
    const again = pair(countingModel().model);
    const resumed = await resumeRun(snapshot, { agents: [again.user, again.assistant] });
    await expect(resumed.result).rejects.toBeInstanceOf(RunDivergedError);
    await expect(resumed.result).rejects.toThrow(
      new RegExp(
        `at ${end!.key.replace('.', '\\.')}: the log has tool-call-end, the run now makes model-call-end`,
      ),
    );
  });

  it('refuses options a resumed run could not rebuild', async () => {
    const { assistant, user } = pair(countingModel().model);
    await expect(
      startChat(user, assistant, { message: () => 'hi', store: new InMemoryRunStore() }),
    ).rejects.toBeInstanceOf(NotDurableError);
    await expect(
      startChat(user, assistant, { message: 'hi', clearHistory: false, store: new InMemoryRunStore() }),
    ).rejects.toThrow(/clearHistory: false/);
  });
});

describe('stored requests', () => {
  it('asks for human input through a stored request that another store instance answers after a restart', async () => {
    const store = fileStore();
    const model = countingModel({ finishAfter: 2 }).model;
    const make = () => {
      const assistant = new AssistantAgent({
        name: 'assistant',
        llmConfig: { modelClient: model },
        ...quiet,
      });
      const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', ...quiet });
      return { assistant, user };
    };
    const first = make();
    const controller = new AbortController();
    const run = await startChat(first.user, first.assistant, {
      message: 'start',
      store,
      runId: 'human',
      signal: controller.signal,
    });
    const requested = await nextEvent(run.events(), 'human-input-requested');
    // The process "stops": the waiting run is abandoned without an answer.
    controller.abort();
    await run.result.catch(() => undefined);

    const other = new FileRunStore({ directory: store.directory });
    const [pending] = await pendingRequests(other, 'human');
    expect(pending?.requestId).toBe(requested.key);
    expect(pending?.data['prompt']).toContain('Provide feedback to assistant');
    await provideInput(other, 'human', pending!.requestId, 'exit');
    await expect(provideInput(other, 'human', pending!.requestId, 'again')).rejects.toBeInstanceOf(
      RequestAnswerError,
    );

    const second = make();
    const resumed = await resumeRun('human', { agents: [second.user, second.assistant], store });
    const [result] = await resumed.result;
    expect(result?.humanInput).toEqual(['exit']);
    expect(result?.terminationReason).toBe('human-exit');
  });

  it('answers with the default when a request times out', async () => {
    const model = countingModel({ finishAfter: 9 }).model;
    const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model }, ...quiet });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', ...quiet });
    const run = await startChat(user, assistant, {
      message: 'start',
      store: new InMemoryRunStore(),
      humanInput: { timeoutMs: 30, defaultAnswer: 'exit' },
    });
    const [result] = await run.result;
    expect(result?.humanInput).toEqual(['exit']);
    const snapshot = await run.snapshot();
    const provided = snapshot.entries.find((entry) => entry.type === 'human-input-provided');
    expect(provided?.data['answer']).toEqual({ text: 'exit', timedOut: true });
  });

  it('waits for approval before a tool call; a rejection reaches the model as the result', async () => {
    const store = new InMemoryRunStore();
    let toolRuns = 0;
    const weather = defineTool({
      name: 'weather',
      description: 'Weather of a city',
      parameters: z.object({ city: z.string() }),
      execute: async () => {
        toolRuns += 1;
        return 'sunny';
      },
    });
    const model = new ScriptedModelClient({
      replies: (request) =>
        request.messages.at(-1)?.role === 'tool'
          ? `tool said: ${String(request.messages.at(-1)?.content)} TERMINATE`
          : {
              tool_calls: [
                { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              ],
            },
    });
    const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model }, ...quiet });
    assistant.registerForLlm(weather);
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
      ...quiet,
    });
    user.registerForExecution(weather);
    const run = await startChat(user, assistant, {
      message: 'weather?',
      store,
      approval: { toolCalls: true },
    });
    const requested = await nextEvent(run.events(), 'approval-requested');
    expect(requested.data).toMatchObject({
      kind: 'tool-call',
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    await reject(store, run.id, requested.key, 'Not allowed to look up the weather today.');
    const [result] = await run.result;
    expect(toolRuns).toBe(0);
    expect(result?.summary).toContain('tool said: Not allowed to look up the weather today.');
  });
});

describe('events', () => {
  it('a reader that disconnects and reconnects with its last sequence ends with exactly the run events', async () => {
    const store = new InMemoryRunStore();
    const { assistant, user } = pair(countingModel({ finishAfter: 5 }).model);
    const run = await startChat(user, assistant, { message: 'start', store });
    const seen: RunEvent[] = [];
    for await (const event of run.events()) {
      seen.push(event);
      if (seen.length === 4) break;
    }
    for await (const event of run.events({ after: seen.at(-1)!.sequence })) seen.push(event);
    await run.result;
    const all = (await run.snapshot()).entries;
    expect(seen.map((event) => event.sequence)).toEqual(all.map((entry) => entry.sequence));
    expect(seen.map((event) => event.key)).toEqual(all.map((entry) => entry.key));
    expect(seen.at(-1)?.type).toBe('run-finished');
    expect(new Set(seen.map((event) => event.runId))).toEqual(new Set([run.id]));
  });
});

describe('durable group chats, queues and nested chats', () => {
  function team(model: ScriptedModelClient) {
    const writer = new AssistantAgent({ name: 'writer', llmConfig: { modelClient: model }, ...quiet });
    const critic = new AssistantAgent({ name: 'critic', llmConfig: { modelClient: model }, ...quiet });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      defaultAutoReply: 'more',
      ...quiet,
    });
    const groupchat = new GroupChat({
      agents: [user, writer, critic],
      speakerSelectionMethod: 'random',
      random: 7,
      maxRound: 8,
    });
    const manager = new GroupChatManager({ groupchat, ...quiet });
    return { user, manager, groupchat };
  }

  it('resumes a seeded random group chat mid-way with the same speakers as an uninterrupted run', async () => {
    const answer = (failAt?: number) => countingModel({ finishAfter: 99, ...(failAt ? { failAt } : {}) });
    const reference = team(answer().model);
    await reference.user.initiateChat(reference.manager, { message: 'plan' });
    const expected = transcript(reference.groupchat.messages);

    const store = fileStore();
    const first = team(answer(3).model);
    const run = await startChat(first.user, first.manager, { message: 'plan', store, runId: 'group' });
    await expect(run.result).rejects.toThrow(/died/);
    const second = team(answer().model);
    const resumed = await resumeRun('group', { agents: [second.user, second.manager], store });
    await resumed.result;
    expect(transcript(second.groupchat.messages)).toEqual(expected);
  });

  it('resumes sequential and dependency-graph queues and nested chats without repeating finished chats', async () => {
    const build = (failAt?: number) => {
      const counter = countingModel({ finishAfter: 1, ...(failAt ? { failAt } : {}) });
      const make = (name: string) =>
        new AssistantAgent({ name, llmConfig: { modelClient: counter.model }, ...quiet });
      const user = new UserProxyAgent({
        name: 'user',
        humanInputMode: 'NEVER',
        isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
        ...quiet,
      });
      const inner = make('inner');
      const outer = make('outer');
      outer.registerNestedChats([{ recipient: inner, summaryMethod: 'last_msg', maxTurns: 1 }], {
        trigger: user,
      });
      return { counter, user, a: make('a'), b: make('b'), outer };
    };
    const queue = (agents: ReturnType<typeof build>) => [
      { sender: agents.user, recipient: agents.a, message: 'first', chatId: 1, prerequisites: [] },
      { sender: agents.user, recipient: agents.b, message: 'second', chatId: 2, prerequisites: [] },
      {
        sender: agents.user,
        recipient: agents.outer,
        message: 'third',
        chatId: 3,
        prerequisites: [1, 2],
        maxTurns: 1,
      },
    ];
    const reference = build();
    const store = fileStore();
    const expected = (await (await startChats(queue(reference), { store })).result).map((result) =>
      transcript(result.chatHistory),
    );

    const first = build(3);
    const run = await startChats(queue(first), { store, runId: 'queue' });
    await expect(run.result).rejects.toThrow(/died/);
    const second = build();
    const resumed = await resumeRun('queue', {
      agents: [second.user, second.a, second.b, second.outer],
      store,
    });
    const results = await resumed.result;
    expect(results.map((result) => transcript(result.chatHistory))).toEqual(expected);
    // Two chats finished before the failure; only the third one's calls were made again.
    expect(second.counter.calls()).toBeLessThan(reference.counter.calls());
  });
});

describe('file store', () => {
  it('drops a log line cut short by a crash and goes on appending after it', async () => {
    const store = fileStore();
    await store.createRun({ runId: 'torn', createdAt: 1, definition: {} });
    await store.append('torn', [{ key: 'a', type: 'message-sent', time: 1, data: {} }]);
    const path = join(store.directory, 'torn', 'log.jsonl');
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path, '[{"key":"b","ty');
    const reopened = new FileRunStore({ directory: store.directory });
    expect((await reopened.loadRun('torn'))?.entries.map((entry) => entry.key)).toEqual(['a']);
    await reopened.append('torn', [{ key: 'c', type: 'message-sent', time: 2, data: {} }]);
    expect((await reopened.readEntries('torn', 0)).map((entry) => `${entry.sequence}${entry.key}`)).toEqual([
      '1a',
      '2c',
    ]);
    expect(readFileSync(path, 'utf8').includes('"ty\n')).toBe(false);
  });

  it('names the line of a log changed by hand, whether it is not JSON or not a list of entries', async () => {
    const store = fileStore();
    await store.createRun({ runId: 'edited', createdAt: 1, definition: {} });
    await store.append('edited', [{ key: 'a', type: 'message-sent', time: 1, data: {} }]);
    await store.append('edited', [{ key: 'b', type: 'message-sent', time: 2, data: {} }]);
    const path = join(store.directory, 'edited', 'log.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [lines[0], lines[1], '[{"key":"b",', lines[2], ''].join('\n'));
    await expect(new FileRunStore({ directory: store.directory }).loadRun('edited')).rejects.toThrow(
      /Line 3 of .*edited\/log\.jsonl is not valid JSON/,
    );
    writeFileSync(path, [lines[0], '{"key":"a"}', lines[2], ''].join('\n'));
    await expect(new FileRunStore({ directory: store.directory }).loadRun('edited')).rejects.toThrow(
      /Line 2 of .*edited\/log\.jsonl is not a list of entries/,
    );
  });

  it('reads only the lines past `after` once it has seen them: a follower costs what is new, not the whole log', async () => {
    const store = fileStore();
    await store.createRun({ runId: 'long', createdAt: 1, definition: {} });
    for (let index = 1; index <= 5; index++) {
      await store.append('long', [{ key: `k${index}`, type: 'message-sent', time: index, data: { index } }]);
    }
    const follower = new FileRunStore({ directory: store.directory });
    expect((await follower.readEntries('long', 0)).map((entry) => entry.key)).toEqual([
      'k1',
      'k2',
      'k3',
      'k4',
      'k5',
    ]);
    // Spoil the second line in place (same length, same file): a reader that parsed the whole log
    // again would fail on it; one that starts at the line after sequence 3 never reads it.
    const path = join(store.directory, 'long', 'log.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = '#'.repeat(lines[1]!.length);
    writeFileSync(path, lines.join('\n'), { flag: 'r+' });
    await store.append('long', [{ key: 'k6', type: 'message-sent', time: 6, data: {} }]);
    expect((await follower.readEntries('long', 3)).map((entry) => `${entry.sequence}${entry.key}`)).toEqual([
      '4k4',
      '5k5',
      '6k6',
    ]);
    // Each read hands out entries of its own: changing one does not change the next read's.
    const [first] = await follower.readEntries('long', 5);
    first!.key = 'changed';
    expect((await follower.readEntries('long', 5))[0]!.key).toBe('k6');
    // Reading from the start does read the spoilt line, and names it.
    await expect(follower.readEntries('long', 0)).rejects.toThrow(
      /Line 2 of .*long\/log\.jsonl is not valid JSON/,
    );
  });

  it('picks up an append another process is still writing only once its line is whole', async () => {
    const store = fileStore();
    await store.createRun({ runId: 'growing', createdAt: 1, definition: {} });
    await store.append('growing', [{ key: 'a', type: 'message-sent', time: 1, data: {} }]);
    const follower = new FileRunStore({ directory: store.directory });
    expect(await follower.readEntries('growing', 0)).toHaveLength(1);
    const path = join(store.directory, 'growing', 'log.jsonl');
    const line = `${JSON.stringify([{ key: 'b', type: 'message-sent', time: 2, data: { text: 'é'.repeat(50) }, sequence: 2 }])}\n`;
    const bytes = Buffer.from(line);
    // Cut inside a two-byte character, as a write in progress can be.
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    appendFileSync(path, bytes.subarray(0, cut));
    expect(await follower.readEntries('growing', 1)).toEqual([]);
    appendFileSync(path, bytes.subarray(cut));
    const [entry] = await follower.readEntries('growing', 1);
    expect(entry).toMatchObject({ key: 'b', sequence: 2, data: { text: 'é'.repeat(50) } });
  });
});

describe('run endings seen from another process', () => {
  async function types(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
    const seen: RunEvent[] = [];
    for await (const event of events) seen.push(event);
    return seen;
  }

  // The readers' signals only bound the wait: a reader that never ends fails the test instead of hanging it.
  it('ends a reader with run-failed and the error when the run fails', async () => {
    const store = fileStore();
    const { assistant, user } = pair(countingModel({ failAt: 2 }).model);
    const run = await startChat(user, assistant, { message: 'start', store, runId: 'fails' });
    const read = types(
      readRunEvents(new FileRunStore({ directory: store.directory }), 'fails', {
        signal: AbortSignal.timeout(20_000),
      }),
    );
    await expect(run.result).rejects.toThrow('the model process died');
    const last = (await read).at(-1);
    expect(last?.type).toBe('run-failed');
    expect(String(last?.data['error'])).toContain('the model process died');
  });

  it('ends a reader with run-stopped when the run is stopped, and reads past it once the run is resumed', async () => {
    const store = fileStore();
    const model = countingModel({ finishAfter: 2 }).model;
    const make = () => ({
      assistant: new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model }, ...quiet }),
      user: new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', ...quiet }),
    });
    const first = make();
    const controller = new AbortController();
    const run = await startChat(first.user, first.assistant, {
      message: 'start',
      store,
      runId: 'stops',
      signal: controller.signal,
    });
    const other = new FileRunStore({ directory: store.directory });
    const read = types(readRunEvents(other, 'stops', { signal: AbortSignal.timeout(20_000) }));
    await nextEvent(run.events(), 'human-input-requested');
    controller.abort();
    await run.result.catch(() => undefined);
    expect((await read).at(-1)?.type).toBe('run-stopped');

    const [pending] = await pendingRequests(other, 'stops');
    await provideInput(other, 'stops', pending!.requestId, 'exit');
    const second = make();
    await (await resumeRun('stops', { agents: [second.user, second.assistant], store })).result;
    const all = (await types(readRunEvents(other, 'stops'))).map((event) => event.type);
    expect(all).toContain('run-stopped');
    expect(all.at(-1)).toBe('run-finished');
  });
});

describe('file store answers and lease across processes', () => {
  async function waitingRun(): Promise<FileRunStore> {
    const store = fileStore();
    await store.createRun({ runId: 'ask', createdAt: 1, definition: {} });
    await store.append('ask', [
      { key: 'chat0/ask1', type: 'human-input-requested', time: 1, data: { prompt: 'Reply?' } },
    ]);
    return store;
  }

  it('accepts exactly one of two answers given at once through two store instances', async () => {
    const store = await waitingRun();
    const first = new FileRunStore({ directory: store.directory });
    const second = new FileRunStore({ directory: store.directory });
    const outcomes = await Promise.allSettled([
      provideInput(first, 'ask', 'chat0/ask1', 'one'),
      provideInput(second, 'ask', 'chat0/ask1', 'two'),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(RequestAnswerError);
    const winner = outcomes[0]?.status === 'fulfilled' ? 'one' : 'two';
    expect((await store.readAnswers('ask')).map((answer) => answer.answer['text'])).toEqual([winner]);
  });

  it('ignores a half-written answer and names the file of a garbage one', async () => {
    const store = await waitingRun();
    const folder = join(store.directory, 'ask', 'answers');
    mkdirSync(folder, { recursive: true });
    // What a process killed while writing leaves behind: a draft that is never linked into place.
    writeFileSync(join(folder, 'chat0%2Fask1.json.999.x.draft'), '{"requestId":"chat0/as');
    await provideInput(store, 'ask', 'chat0/ask1', 'fine');
    expect((await store.readAnswers('ask')).map((answer) => answer.answer['text'])).toEqual(['fine']);
    writeFileSync(join(folder, 'other.json'), 'not json\n');
    await expect(store.readAnswers('ask')).rejects.toThrow(/answers\/other\.json is not valid JSON/);
    await expect(store.readAnswers('ask')).rejects.toBeInstanceOf(HopgenError);
  });

  it('lets exactly one of two resumers take over the lease of a dead holder', async () => {
    const store = await waitingRun();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    await store.acquire('ask', 'dead-owner');
    // Rewrite the holder as the dead process, as if it had been killed while running the run.
    const folder = join(store.directory, 'ask');
    for (const name of readdirSync(folder).filter((name) => name.startsWith('lease'))) {
      writeFileSync(join(folder, name), JSON.stringify({ owner: 'dead-owner', pid: dead }));
    }
    const first = new FileRunStore({ directory: store.directory });
    const second = new FileRunStore({ directory: store.directory });
    const outcomes = await Promise.allSettled([
      first.acquire('ask', 'first'),
      second.acquire('ask', 'second'),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(
      (outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason,
    ).toBeInstanceOf(RunLockedError);
  });
});

async function nextEvent(events: AsyncIterable<RunEvent>, type: string): Promise<RunEvent> {
  for await (const event of events) if (event.type === type) return event;
  throw new Error(`The run ended without ${type}.`);
}

void ConversableAgent;
