import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssistantAgent,
  definePipeline,
  FileRunStore,
  GroupChat,
  GroupChatManager,
  InMemoryRunStore,
  InvalidSnapshotError,
  pendingRequests,
  provideInput,
  resumePipeline,
  resumeRun,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseRunSnapshot, RUN_SNAPSHOT_VERSION } from '../src/durable/run-snapshot.js';

const fixtures = fileURLToPath(new URL('./fixtures/run-snapshots/', import.meta.url));
const logFixtures = fileURLToPath(new URL('./fixtures/run-logs/', import.meta.url));
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
const quiet = { silent: true } as const;
const load = (version: string, name: string) =>
  JSON.parse(readFileSync(join(fixtures, version, name), 'utf8'));

function countingModel() {
  let calls = 0;
  const model = new ScriptedModelClient({
    replies: (request) => {
      calls += 1;
      const turns = request.messages.filter((message) => message.role === 'user').length;
      return turns >= 3 ? `answer ${turns} TERMINATE` : `answer ${turns}`;
    },
  });
  return { model, calls: () => calls };
}

describe('run snapshot fixtures', () => {
  it('every stored fixture of every schema version still loads', () => {
    const versions = readdirSync(fixtures);
    expect(versions).toContain(`v${RUN_SNAPSHOT_VERSION}`);
    for (const version of versions) {
      for (const name of readdirSync(join(fixtures, version))) {
        const snapshot = parseRunSnapshot(load(version, name));
        expect(snapshot.entries.length, `${version}/${name}`).toBeGreaterThan(0);
      }
    }
  });

  it('v1: a finished two-agent chat resumes from its snapshot without calling the model', async () => {
    const counter = countingModel();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: counter.model },
      ...quiet,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      defaultAutoReply: 'go on',
      isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
      ...quiet,
    });
    const run = await resumeRun(load('v1', 'two-agent-finished.json'), { agents: [user, assistant] });
    const [result] = await run.result;
    expect(counter.calls()).toBe(0);
    expect(result?.terminationReason).toBe('termination-message');
    expect(result?.chatHistory.map((message) => message.content)).toEqual([
      'start',
      'answer 1',
      'go on',
      'answer 2',
      'go on',
      'answer 3 TERMINATE',
    ]);
  });

  it('v1: a group chat stopped while waiting for human input goes on once the request is answered', async () => {
    const store = new InMemoryRunStore();
    const writer = new AssistantAgent({
      name: 'writer',
      llmConfig: { modelClient: countingModel().model },
      ...quiet,
    });
    const critic = new AssistantAgent({
      name: 'critic',
      llmConfig: { modelClient: countingModel().model },
      ...quiet,
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', ...quiet });
    const groupchat = new GroupChat({
      agents: [user, writer, critic],
      speakerSelectionMethod: 'round_robin',
      maxRound: 6,
    });
    const manager = new GroupChatManager({ groupchat, ...quiet });
    const run = await resumeRun(load('v1', 'group-waiting-for-human.json'), {
      agents: [user, manager],
      store,
    });
    const [pending] = await pendingRequests(store, run.id);
    expect(pending?.kind).toBe('human-input');
    await provideInput(store, run.id, pending!.requestId, 'exit');
    const [result] = await run.result;
    expect(result?.terminationReason).toBe('human-exit');
    expect(groupchat.messages.map((message) => message.name)).toEqual(['user', 'writer', 'critic']);
  });

  it('refuses unknown versions and broken snapshots with the reason', () => {
    const snapshot = load('v1', 'two-agent-finished.json');
    expect(() => parseRunSnapshot({ ...snapshot, schemaVersion: 3 })).toThrow(InvalidSnapshotError);
    expect(() => parseRunSnapshot({ ...snapshot, schemaVersion: 3 })).toThrow(/Upgrade @hopgen\/agents/);
    expect(() => parseRunSnapshot({ ...snapshot, entries: [{ key: '' }] })).toThrow(/entries\.0/);
    expect(() => parseRunSnapshot('{not json')).toThrow(/not valid JSON/);
  });

  it('v1: a snapshot loads as the current version, without a pipeline', () => {
    const snapshot = parseRunSnapshot(load('v1', 'two-agent-finished.json'));
    expect(snapshot.schemaVersion).toBe(RUN_SNAPSHOT_VERSION);
    expect(snapshot.pipeline).toBeUndefined();
  });

  it('v2: a pipeline run keeps its pipeline, input and budget through a snapshot and resumes by pipeline', async () => {
    const counter = countingModel();
    const store = new InMemoryRunStore();
    const built: unknown[] = [];
    const pipeline = definePipeline({
      name: 'answers',
      input: z.object({ question: z.string() }),
      build: (input) => {
        built.push(input);
        const assistant = new AssistantAgent({
          name: 'assistant',
          llmConfig: { modelClient: counter.model },
          ...quiet,
        });
        const user = new UserProxyAgent({
          name: 'user',
          humanInputMode: 'NEVER',
          defaultAutoReply: 'go on',
          isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
          ...quiet,
        });
        return { agents: [user, assistant], chat: { sender: user, recipient: assistant } };
      },
    });
    const snapshot = load('v2', 'pipeline-finished.json');
    // Loading the snapshot into a store keeps the header's pipeline, so resumePipeline accepts it.
    const agents = (await pipeline.build({ question: 'start' }, { runId: snapshot.runId })).agents;
    await (await resumeRun(snapshot, { agents, store })).result;
    const run = await resumePipeline(pipeline, snapshot.runId, { store });
    const [result] = await run.result;
    expect(counter.calls()).toBe(0);
    expect(built).toEqual([{ question: 'start' }, { question: 'start' }]);
    expect(result?.chatHistory.at(-1)?.content).toBe('answer 3 TERMINATE');
    expect((await store.loadRun(snapshot.runId))?.header).toMatchObject({
      schemaVersion: 2,
      pipeline: { name: 'answers', input: { question: 'start' } },
      definition: { flow: { options: { maxTokens: 10000 } } },
    });
  });
});

describe('file store log fixtures', () => {
  it('v1: a log written before header versions resumes mid-way and is not taken for a pipeline run', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hopgen-old-logs-'));
    folders.push(directory);
    cpSync(join(logFixtures, 'v1'), directory, { recursive: true });
    const store = new FileRunStore({ directory });
    const counter = countingModel();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: counter.model },
      ...quiet,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      defaultAutoReply: 'go on',
      isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
      ...quiet,
    });
    const run = await resumeRun('two-agent-midway', { agents: [user, assistant], store });
    const [result] = await run.result;
    // Two answers were in the log; only the third call is made.
    expect(counter.calls()).toBe(1);
    expect(result?.chatHistory.map((message) => message.content)).toEqual([
      'start',
      'answer 1',
      'go on',
      'answer 2',
      'go on',
      'answer 3 TERMINATE',
    ]);
    const pipeline = definePipeline({ name: 'any', build: () => ({ agents: [], chats: [] }) });
    await expect(resumePipeline(pipeline, 'two-agent-midway', { store })).rejects.toThrow(/not a pipeline/);
  });
});
