import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssistantAgent,
  GroupChat,
  GroupChatManager,
  InMemoryRunStore,
  InvalidSnapshotError,
  parseRunSnapshot,
  pendingRequests,
  provideInput,
  RUN_SNAPSHOT_VERSION,
  resumeRun,
  ScriptedModelClient,
  UserProxyAgent,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('./fixtures/run-snapshots/', import.meta.url));
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
    expect(() => parseRunSnapshot({ ...snapshot, schemaVersion: 2 })).toThrow(InvalidSnapshotError);
    expect(() => parseRunSnapshot({ ...snapshot, schemaVersion: 2 })).toThrow(/Upgrade @hopgen\/agents/);
    expect(() => parseRunSnapshot({ ...snapshot, entries: [{ key: '' }] })).toThrow(/entries\.0/);
    expect(() => parseRunSnapshot('{not json')).toThrow(/not valid JSON/);
  });
});
