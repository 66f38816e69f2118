import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  FileRunStore,
  readRunEvents,
  resumeRun,
  startChat,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import type { FigureSet } from './figures.js';
import { withBenchServer } from './local-server.js';
import { sampleInterleaved } from './sampler.js';
import type { BenchSettings } from './settings.js';

/** Goals of issue 11, milliseconds at p50. */
const TARGET_CHECKPOINT_PER_TURN_MS = 1;
const TARGET_RESUME_1000_MESSAGES_MS = 50;

const TURN_TEXT =
  'A model answer of ordinary length, with a sentence or two of reasoning and a short result. '.repeat(3);

function pair(turns: number): { user: UserProxyAgent; assistant: AssistantAgent } {
  const model = new ScriptedModelClient({ replies: () => TURN_TEXT });
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: { modelClient: model },
    maxConsecutiveAutoReply: turns,
    silent: true,
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    defaultAutoReply: 'go on',
    maxConsecutiveAutoReply: turns,
    silent: true,
  });
  return { user, assistant };
}

/**
 * Durable runs. Checkpoint cost per turn: a durable chat turn (FileRunStore) minus the plain turn
 * of the same interleaved round, set against the warm stateful code-block round trip of the same
 * run (its baseline; goal ratio at most 0.1). Resume of a finished 1,000-message run: loading its
 * whole log, which besides the messages holds each model call's entries and the `run-checkpointed`
 * entry that follows every message and every call's end, then replaying the conversation without
 * side effects. Events replay rate: a reader of that same log, checkpoint entries included.
 */
export async function measureDurableRuns(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'hopgen-bench-runs-'));
  const store = new FileRunStore({ directory });
  try {
    const { turnSamples, turnsPerSample, resumeRuns, messages } = settings.durable;
    await withBenchServer(0, async (server) => {
      const executor = new HopXCodeExecutor({
        baseURL: server.baseURL,
        apiKey: server.apiKey,
        template: 'code-interpreter',
        stateful: true,
        timeoutMs: 60_000,
      });
      try {
        let chats = 0;
        let agents = pair(turnsPerSample);
        const chatProbe = (durable: boolean) => ({
          prepare: async () => {
            agents = pair(turnsPerSample);
          },
          measure: async () => {
            const { user, assistant } = agents;
            if (!durable) {
              await user.initiateChat(assistant, { message: 'start' });
              return;
            }
            chats += 1;
            await (await startChat(user, assistant, { message: 'start', store, runId: `turns-${chats}` }))
              .result;
          },
        });
        const raw = await sampleInterleaved(
          { warmup: 2, iterations: turnSamples },
          {
            plain: chatProbe(false),
            durable: chatProbe(true),
            codeBlock: {
              measure: async () => {
                const result = await executor.executeCodeBlocks([{ code: 'print(1)', language: 'python' }]);
                if (result.exitCode !== 0) throw new Error(`print(1) failed: ${result.output}`);
              },
            },
          },
        );
        // A turn is the model's answer and the auto reply; a chat of n turns has n + 1 replies.
        const perTurn = (values: number[]) => values.map((value) => value / (turnsPerSample + 1));
        const samples = {
          plain: perTurn(raw.plain),
          durable: perTurn(raw.durable),
          codeBlock: raw.codeBlock,
        };
        figures.add(
          'durable.code-block.stateful',
          'Warm stateful code-block round trip (HopXCodeExecutor, local sandbox), the yardstick',
          'ms',
          samples.codeBlock,
        );
        figures.add('durable.turn.plain', 'Two-agent chat turn, plain (scripted model)', 'ms', samples.plain);
        figures.add(
          'durable.turn.file-store',
          'Two-agent chat turn, durable (FileRunStore)',
          'ms',
          samples.durable,
          {
            baselineId: 'durable.turn.plain',
          },
        );
        figures.add(
          'durable.checkpoint.per-turn',
          'Checkpoint cost per turn with the file store (durable minus plain, per pair)',
          'ms',
          samples.durable.map((durable, index) => durable - samples.plain[index]!),
          {
            baselineId: 'durable.code-block.stateful',
            targetP50: TARGET_CHECKPOINT_PER_TURN_MS,
            note: 'goal: p50 at most 1 ms and at most a tenth of the code-block round trip (ratio ≤ 0.1)',
          },
        );
      } finally {
        await executor.close();
      }
    });

    const turns = Math.ceil(messages / 2);
    const long = pair(turns);
    const finished = await startChat(long.user, long.assistant, { message: 'start', store, runId: 'long' });
    const [result] = await finished.result;
    if (!result || result.chatHistory.length < messages) {
      throw new Error(`the long run has ${result?.chatHistory.length} messages, wanted ${messages}`);
    }
    const resumeSamples: number[] = [];
    for (let index = 0; index < resumeRuns + 1; index++) {
      const fresh = pair(turns);
      const started = performance.now();
      const resumed = await resumeRun('long', {
        agents: [fresh.user, fresh.assistant],
        store: new FileRunStore({ directory }),
      });
      await resumed.result;
      if (index > 0) resumeSamples.push(performance.now() - started);
    }
    figures.add(
      'durable.resume.1000-messages',
      `Resume a finished ${result.chatHistory.length}-message run from the file store (load + replay)`,
      'ms',
      resumeSamples,
      { targetP50: TARGET_RESUME_1000_MESSAGES_MS },
    );
    const rates: number[] = [];
    for (let index = 0; index < resumeRuns; index++) {
      const started = performance.now();
      let events = 0;
      for await (const _event of readRunEvents(new FileRunStore({ directory }), 'long')) events += 1;
      rates.push(events / ((performance.now() - started) / 1000));
    }
    figures.add(
      'durable.events.replay',
      'Events replayed from the file store by a reader',
      'events/s',
      rates,
      {
        higherIsBetter: true,
      },
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
