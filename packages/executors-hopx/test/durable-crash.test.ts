import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileRunStore, INTERRUPTED_CODE_OUTPUT, pendingRequests, provideInput } from '@hopgen/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  type RecordedRequest,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { startTestServer, type TestServer } from './support/local-server.js';

const child = fileURLToPath(new URL('./support/durable-crash-child.ts', import.meta.url));

/** Model answers that depend only on the prompt, so a resumed run and a fresh one get the same ones. */
let holdNextModelCall: (() => void) | undefined;
/** When set, the coder's first block sleeps, so the test can kill the process while it runs. */
let slowFirstBlock = false;
function answer(request: RecordedRequest) {
  if (holdNextModelCall) {
    const notify = holdNextModelCall;
    holdNextModelCall = undefined;
    notify();
    return { kind: 'hang' as const };
  }
  const messages = request.body.messages as { role: string; content: string }[];
  const n = messages.length;
  if (messages[0]?.content === 'You write code.') {
    if (slowFirstBlock && n === 2) {
      return {
        content: '```python\nimport time\nopen("slow.log", "a").write("started\\n")\ntime.sleep(15)\n```',
      };
    }
    return {
      content: `Block ${n}:\n\`\`\`python\nopen("blocks.log", "a").write("block ${n}\\n")\nprint(${n} * ${n})\n\`\`\``,
    };
  }
  return { toolCalls: [{ id: `call_${n}`, name: 'lookup', arguments: JSON.stringify({ n }) }] };
}

let server: OpenAITestServer;
let sandboxes: TestServer;
const folders: string[] = [];
beforeAll(async () => {
  server = await startOpenAITestServer((request) => answer(request));
  sandboxes = await startTestServer();
});
afterAll(async () => {
  await server.close();
  await sandboxes.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface Launch {
  process: ChildProcess;
  lines: AsyncIterableIterator<string>;
  exited: Promise<number | null>;
}

/** Where the child runs code: `sandbox` (a HopX sandbox of the server in this process) or `local`. */
type Where = 'sandbox' | 'local';

function launch(
  mode: 'start' | 'resume',
  storeDirectory: string,
  runId: string,
  workDir: string,
  where: Where,
): Launch {
  const sandboxURL = where === 'local' ? 'local' : sandboxes.baseURL;
  const spawned = spawn(
    process.execPath,
    ['--import', 'tsx', child, mode, storeDirectory, runId, server.baseURL, workDir, sandboxURL],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HOPX_API_KEY: sandboxes.apiKey } },
  );
  const exited = new Promise<number | null>((resolve) => spawned.on('exit', resolve));
  return {
    process: spawned,
    lines: createInterface({ input: spawned.stdout! })[Symbol.asyncIterator](),
    exited,
  };
}

async function killChild(running: Launch): Promise<void> {
  running.process.kill('SIGKILL');
  await running.exited;
}

/** Answers every pending human-input request of the run with Enter (''), from this process. */
async function answerPending(store: FileRunStore, runId: string): Promise<void> {
  for (const request of await pendingRequests(store, runId)) {
    await provideInput(store, runId, request.requestId, '');
  }
}

type Trigger = 'message' | 'model-call' | 'tool-call' | 'human-input' | 'code-block';

/**
 * Runs the child until `trigger` happens, answering human input on the way (except for the
 * `human-input` trigger), then SIGKILLs it. Returns the transcript when the run finished first.
 */
async function runUntil(
  mode: 'start' | 'resume',
  folders: { store: string; work: string },
  runId: string,
  trigger: Trigger | undefined,
  where: Where = 'sandbox',
): Promise<{ killedAt?: string; transcript?: unknown[]; blocks?: string }> {
  const store = new FileRunStore({ directory: folders.store });
  const lastSequence = async () => (await store.loadRun(runId))?.entries.at(-1)?.sequence ?? 0;
  // The child prints only live events, so a request the killed process left unanswered is answered here.
  if (mode === 'resume') await answerPending(store, runId);
  const launchedAt = await lastSequence();
  const running = launch(mode, folders.store, runId, folders.work, where);
  const kill = async (child: Launch) => {
    await killChild(child);
    if ((await lastSequence()) <= launchedAt)
      throw new Error(`Killed at sequence ${launchedAt} without progress.`);
  };
  let blocks: string | undefined;
  // Resolves when the process is inside the side effect the test wants to interrupt.
  let modelCallHeld: Promise<void> | undefined;
  // Armed only once the run wrote a live entry: a call the resumed run repeats is no progress.
  const arm = () => {
    if (trigger === 'model-call') {
      modelCallHeld = new Promise((resolve) => {
        holdNextModelCall = resolve;
      });
    }
    if (trigger === 'code-block') modelCallHeld = waitForFile(join(folders.work, 'slow.log'));
  };
  let armed = false;
  let messages = 0;
  const next = async () => (await running.lines.next()).value as string | undefined;
  const lineOrHold = async (): Promise<string | undefined | 'held'> =>
    modelCallHeld ? Promise.race([next(), modelCallHeld.then(() => 'held' as const)]) : next();
  let pendingLine: Promise<string | undefined | 'held'> = lineOrHold();
  for (;;) {
    const line = await pendingLine;
    if (line === 'held') {
      await kill(running);
      return { killedAt: trigger === 'code-block' ? 'inside a code block' : 'inside a model call' };
    }
    if (line === undefined) break;
    if (line.startsWith('blocks ')) blocks = JSON.parse(line.slice('blocks '.length));
    if (line.startsWith('transcript ')) {
      holdNextModelCall = undefined;
      await running.exited;
      const transcript = JSON.parse(line.slice('transcript '.length));
      return { transcript, ...(blocks === undefined ? {} : { blocks }) };
    }
    if (!armed && line.startsWith('entry ')) {
      armed = true;
      arm();
    }
    if (trigger === 'tool-call' && armed && line === 'tool-start') {
      await kill(running);
      return { killedAt: 'inside a tool call' };
    }
    const [, , type, key] = line.split(' ');
    if (type === 'message-sent') messages += 1;
    if (trigger === 'message' && messages === 2) {
      await kill(running);
      return { killedAt: `between messages (after ${key})` };
    }
    if (type === 'human-input-requested') {
      if (trigger === 'human-input') {
        await kill(running);
        // Answered from this process while nobody runs the chat; the next process takes the answer.
        await answerPending(store, runId);
        return { killedAt: 'waiting for human input' };
      }
      await answerPending(store, runId);
    }
    pendingLine = lineOrHold();
  }
  holdNextModelCall = undefined;
  throw new Error(`The child ended without a transcript (exit ${await running.exited}).`);
}

async function waitForFile(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 20));
}

function freshFolders() {
  const store = mkdtempSync(join(tmpdir(), 'hopgen-crash-store-'));
  const work = mkdtempSync(join(tmpdir(), 'hopgen-crash-work-'));
  folders.push(store, work);
  return { store, work };
}

describe('a durable group chat killed with SIGKILL', () => {
  it('resumed from the file store after 20+ kills ends with the transcript of an uninterrupted run, each code block run once', async () => {
    const reference = freshFolders();
    const uninterrupted = await runUntil('start', reference, 'reference', undefined);
    expect(uninterrupted.transcript).toBeDefined();
    const referenceBlocks = uninterrupted.blocks;
    expect(referenceBlocks?.split('\n').filter(Boolean).length).toBeGreaterThan(4);

    const crashing = freshFolders();
    const triggers: Trigger[] = ['message', 'model-call', 'tool-call', 'human-input'];
    const kills: string[] = [];
    let outcome = await runUntil('start', crashing, 'crashing', 'message');
    kills.push(outcome.killedAt!);
    for (let attempt = 1; outcome.transcript === undefined; attempt += 1) {
      const trigger = kills.length < 24 ? triggers[attempt % triggers.length] : undefined;
      outcome = await runUntil('resume', crashing, 'crashing', trigger);
      if (outcome.killedAt) kills.push(outcome.killedAt);
      if (attempt > 60) throw new Error('the run does not finish');
    }
    expect(kills.length).toBeGreaterThanOrEqual(20);
    expect(new Set(kills.map((point) => point.replace(/ \(.*/, '')))).toEqual(
      new Set(['between messages', 'inside a model call', 'inside a tool call', 'waiting for human input']),
    );
    expect(outcome.transcript).toEqual(uninterrupted.transcript);
    // Counted by the sandbox itself: every block appended its line to one file in one sandbox,
    // which outlived every killed process and was found again by each resumed one.
    const blocks = outcome.blocks ?? '';
    expect(blocks).toBe(referenceBlocks);
    expect(new Set(blocks.trim().split('\n')).size).toBe(blocks.trim().split('\n').length);
  }, 600_000);

  it('does not run a block again that was killed while it ran; the model is told it was interrupted', async () => {
    slowFirstBlock = true;
    try {
      const crashing = freshFolders();
      const killed = await runUntil('start', crashing, 'slow', 'code-block', 'local');
      expect(killed.killedAt).toBe('inside a code block');
      const finished = await runUntil('resume', crashing, 'slow', undefined, 'local');
      const transcript = finished.transcript as { content: string }[];
      expect(transcript.map((message) => message.content)).toContain(
        `exitcode: 1 (execution failed)\nCode output: ${INTERRUPTED_CODE_OUTPUT}`,
      );
      // The sandboxed code itself counts: it started once and was never started again.
      expect(readFileSync(join(crashing.work, 'slow.log'), 'utf8')).toBe('started\n');
    } finally {
      slowFirstBlock = false;
    }
  }, 600_000);
});
