import { contentToString, InMemoryRunStore, startChat } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { applyEvent, createRunState } from '@hopgen/server/run-state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSalesTeam, SALES_TASK } from '../demo/sales-team.js';
import { analystScript, coderScript, managerScript, reviewerScript } from '../demo/scripted-replies.js';
import { TranscriptRecorder } from '../demo/support/transcript.js';

const scripts = {
  Coder: coderScript,
  Analyst: analystScript,
  Reviewer: reviewerScript,
  chat_manager: managerScript,
};

let sandbox: LocalSandboxServer;

beforeAll(async () => {
  sandbox = await startLocalSandboxServer({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
});

describe('a finished run on the page and in report.html', () => {
  it('shows the same facts: messages, who sent them, code runs and their exit codes, charts, why it ended', async () => {
    const executor = new HopXCodeExecutor({
      apiKey: sandbox.apiKey,
      baseURL: sandbox.baseURL,
      timeoutMs: 120_000,
    });
    try {
      const team = buildSalesTeam({
        llmConfig: (name) => ({
          modelClient: new ScriptedModelClient({ replies: scripts[name as keyof typeof scripts] }),
        }),
        executor,
        silent: true,
      });
      // The report's side: the demo's recorder, fed by the agents' events.
      const recorder = new TranscriptRecorder();
      recorder.watch([team.user, team.coder, team.analyst, team.reviewer, team.manager]);
      recorder.beginChat('User → group');
      const run = await startChat(team.user, team.manager, {
        message: SALES_TASK,
        store: new InMemoryRunStore(),
      });
      const [result] = await run.result;
      recorder.endChat(result!);
      const transcript = recorder.finish({
        runId: run.id,
        title: 'parity',
        task: SALES_TASK,
        runtime: {
          sandbox: 'local',
          model: 'scripted',
          sandboxDescription: 'local',
          modelDescription: 'scripted',
        },
        problems: [],
      });

      // The page's side: its view model, fed by the run's stored events.
      const state = createRunState(run.id) as any;
      for await (const event of run.events()) applyEvent(state, event);

      const facts = (messages: any[]) =>
        messages.map((entry) => ({
          sender: entry.sender,
          recipient: entry.recipient,
          text: contentToString(entry.message.content),
          exitCode: entry.execution?.exitCode,
          images: entry.images ?? [],
        }));
      expect(transcript.messages.length).toBeGreaterThan(5);
      expect(facts(state.messages)).toEqual(facts(transcript.messages));
      expect(state.charts).toEqual(transcript.charts);
      expect(state.charts.length).toBeGreaterThan(0);
      expect(state.termination.reason).toBe(transcript.chats[0]!.terminationReason);
      expect(state.status).toBe('finished');
    } finally {
      await executor.close();
    }
  }, 180_000);
});
