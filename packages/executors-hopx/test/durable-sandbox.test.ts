import { AssistantAgent, InMemoryRunStore, resumeRun, startChat, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { Sandbox } from '@hopx-ai/sdk';
import { describe, expect, it } from 'vitest';
import { type HopXCodeExecutor, SANDBOX_RESTARTED_NOTICE } from '../src/index.js';
import { useTestServerPool } from './support/local-server.js';

const pool = useTestServerPool();
const quiet = { silent: true } as const;

/** The coder sets x, then (after a restart) reads it back, then ends. The second call fails once. */
function script(options: { failSecondCall: boolean }) {
  let calls = 0;
  return new ScriptedModelClient({
    replies: (request) => {
      calls += 1;
      const results = request.messages.filter((message) =>
        String(message.content).startsWith('exitcode'),
      ).length;
      if (results === 0) return '```python\nx = 41\nprint("set")\n```';
      if (results === 1) {
        if (options.failSecondCall && calls === 2) throw new Error('the process died');
        return '```python\nprint(x + 1)\n```';
      }
      return 'TERMINATE';
    },
  });
}

function team(executor: HopXCodeExecutor, failSecondCall: boolean) {
  const coder = new AssistantAgent({
    name: 'coder',
    llmConfig: { modelClient: script({ failSecondCall }) },
    ...quiet,
  });
  const runner = new UserProxyAgent({
    name: 'runner',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor },
    ...quiet,
  });
  return { coder, runner };
}

describe('HopXCodeExecutor in a durable run', () => {
  it('re-attaches to the same sandbox on resume, so variables survive the restart', async () => {
    const store = new InMemoryRunStore();
    const first = pool.create({ stateful: true });
    const dying = team(first, true);
    const run = await startChat(dying.runner, dying.coder, { message: 'go', store, runId: 'keep' });
    await expect(run.result).rejects.toThrow(/died/);
    const sandboxId = first.sandboxId;
    expect(sandboxId).toBeDefined();
    // The owner pauses the idle sandbox instead of killing it.
    await first.pause();
    const server = pool.defaults();
    expect((await Sandbox.connect(sandboxId!, server.apiKey, server.baseURL)).sandboxId).toBe(sandboxId);

    const second = pool.create({ stateful: true });
    const resumed = team(second, false);
    const again = await resumeRun('keep', { agents: [resumed.runner, resumed.coder], store });
    const [result] = await again.result;
    expect(second.sandboxId).toBe(sandboxId);
    expect(result?.chatHistory.map((message) => message.content)).toContain(
      'exitcode: 0 (execution succeeded)\nCode output: 42\n',
    );
  });

  it('says the earlier state was lost when the stored sandbox is gone', async () => {
    const store = new InMemoryRunStore();
    const first = pool.create({ stateful: true });
    const dying = team(first, true);
    const run = await startChat(dying.runner, dying.coder, { message: 'go', store, runId: 'gone' });
    await expect(run.result).rejects.toThrow(/died/);
    await first.close();

    const second = pool.create({ stateful: true });
    const resumed = team(second, false);
    const again = await resumeRun('gone', { agents: [resumed.runner, resumed.coder], store });
    const [result] = await again.result;
    const results = (result?.chatHistory ?? [])
      .map((message) => String(message.content))
      .filter((content) => content.startsWith('exitcode'));
    // The first block's result came from the log; the second ran in a new sandbox, and says so.
    expect(results[0]).toBe('exitcode: 0 (execution succeeded)\nCode output: set\n');
    const output = results[1] ?? '';
    expect(output).toContain(SANDBOX_RESTARTED_NOTICE);
    expect(output).toContain('NameError');
  });
});

describe('code output of a HopX block in a durable run', () => {
  it('is stored as code-output events while the block runs, before its end', async () => {
    const store = new InMemoryRunStore();
    const executor = pool.create({ stateful: true });
    const coder = new AssistantAgent({
      name: 'coder',
      llmConfig: {
        modelClient: new ScriptedModelClient({
          replies: (request) =>
            String(request.messages.at(-1)?.content).startsWith('exitcode')
              ? 'TERMINATE'
              : // Waits until the test has seen its first line: it cannot end before.
                "```python\nimport os, time\nprint('first')\nwhile not os.path.exists('seen'):\n    time.sleep(0.05)\nprint('second')\n```",
        }),
      },
      ...quiet,
    });
    const runner = new UserProxyAgent({
      name: 'runner',
      humanInputMode: 'NEVER',
      codeExecutionConfig: { executor },
      isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
      ...quiet,
    });
    const run = await startChat(runner, coder, { message: 'go', store, runId: 'streams' });
    const seen: string[] = [];
    for await (const event of run.events()) {
      seen.push(event.type);
      if (event.type !== 'code-output') continue;
      expect(event.data['chunks']).toEqual([{ stream: 'stdout', text: 'first\n' }]);
      const stepId = String(event.data['stepId']);
      const keys = (await store.loadRun('streams'))?.entries.map((entry) => entry.key);
      expect(keys).toContain(stepId);
      expect(keys).not.toContain(`${stepId}.end`);
      const server = pool.defaults();
      const sandbox = await Sandbox.connect(executor.sandboxId!, server.apiKey, server.baseURL);
      await sandbox.files.write('/workspace/seen', 'yes');
      break;
    }
    expect(seen.at(-1)).toBe('code-output');
    const [result] = await run.result;
    expect(result?.chatHistory[2]?.content).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: first\nsecond\n',
    );
  });
});
