import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeOutputChunk } from '@hopgen/agents';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HopXCodeExecutor } from '../src/index.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

let server: TestServer;
let outputDir: string;
const pool = new ExecutorPool(() => ({ apiKey: server.apiKey, baseURL: server.baseURL, outputDir }));

beforeAll(async () => {
  server = await startTestServer();
  outputDir = await mkdtemp(join(tmpdir(), 'hopgen-output-polling-'));
});

afterEach(async () => {
  await pool.closeAll();
  expect(await liveSandboxIds(server)).toEqual([]);
});

afterAll(async () => {
  await server?.close();
  await rm(outputDir, { recursive: true, force: true });
});

describe('output of a running stateful Python block', () => {
  it('reaches onOutput while the block still runs, and the result is unchanged', async () => {
    const executor = pool.create();
    const seen: (CodeOutputChunk & { whileRunning: boolean })[] = [];
    let running = true;
    let firstSeen: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      firstSeen = resolve;
    });
    // The block waits until the executor has seen its first line: it cannot end before.
    const block = {
      language: 'python',
      code: [
        'import os, sys, time',
        "print('first')",
        "print('warning', file=sys.stderr)",
        "while not os.path.exists('seen'):",
        '    time.sleep(0.05)',
        "print('second')",
      ].join('\n'),
    };
    const result = executor
      .executeCodeBlocks([block], {
        onOutput: (chunk) => {
          seen.push({ ...chunk, whileRunning: running });
          if (chunk.text.includes('first')) firstSeen();
        },
      })
      .finally(() => {
        running = false;
      });
    await first;
    // Through a second connection: the executor runs one call at a time and is busy with the block.
    const sandbox = await Sandbox.connect(executor.sandboxId!, server.apiKey, server.baseURL);
    await sandbox.files.write('/workspace/seen', 'yes');
    const streamed = await result;
    expect(streamed).toEqual({ exitCode: 0, output: 'warning\nfirst\nsecond\n' });
    // The same block without onOutput ('seen' exists now, so it does not wait) answers the same.
    expect(await executor.executeCodeBlocks([block])).toEqual(streamed);
    expect(seen[0]).toEqual({ stream: 'stdout', text: 'first\n', whileRunning: true });
    expect(
      seen
        .filter((chunk) => chunk.stream === 'stderr')
        .map((chunk) => chunk.text)
        .join(''),
    ).toBe('warning\n');
    expect(seen.every((chunk) => chunk.whileRunning)).toBe(true);
  });

  it('hands out nothing for a short block and leaves no output files behind', async () => {
    const executor = pool.create();
    const seen: CodeOutputChunk[] = [];
    const { output } = await executor.executeCodeBlocks([{ language: 'python', code: "print('quick')" }], {
      onOutput: (chunk) => seen.push(chunk),
    });
    expect(output).toBe('quick\n');
    const left = await executor.executeCodeBlocks([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
      { language: 'bash', code: 'ls "${TMPDIR:-/tmp}" | grep -c hopgen-block- || true' },
    ]);
    expect(left.output.trim()).toBe('0');
    expect(seen.length).toBeLessThanOrEqual(1);
  });
});

/** Resolves once `seen` holds text that includes `text`; `onOutput` feeds it. */
function outputWatcher() {
  const seen: (CodeOutputChunk & { whileRunning: boolean })[] = [];
  const waiting: { text: string; resolve: () => void }[] = [];
  let running = true;
  return {
    seen,
    onOutput: (chunk: CodeOutputChunk) => {
      seen.push({ ...chunk, whileRunning: running });
      const all = seen.map((entry) => entry.text).join('');
      for (const wait of waiting.filter((entry) => all.includes(entry.text))) wait.resolve();
    },
    ended: () => {
      running = false;
    },
    sawText: (text: string) =>
      new Promise<void>((resolve) => {
        if (seen.some((entry) => entry.text.includes(text))) resolve();
        else waiting.push({ text, resolve });
      }),
  };
}

/** Writes `name` in the workspace through a second connection: the executor is busy with the block. */
async function writeWorkspaceFile(sandboxId: string, name: string): Promise<void> {
  const sandbox = await Sandbox.connect(sandboxId, server.apiKey, server.baseURL);
  await sandbox.files.write(`/workspace/${name}`, 'yes');
}

/** How many output copies the executor left in the sandbox's temporary directory. */
async function leftOutputCopies(executor: HopXCodeExecutor): Promise<string> {
  const left = await executor.executeCodeBlocks([
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
    { language: 'bash', code: 'ls -a "${TMPDIR:-/tmp}" | grep -c hopgen-block- || true' },
  ]);
  return left.output.trim();
}

const WAIT_FOR_SEEN = 'while [ ! -e seen ]; do sleep 0.05; done';

describe.each([
  {
    name: 'bash',
    stateful: true,
    language: 'bash',
    first: 'echo first; echo warning >&2',
    second: 'echo second',
  },
  {
    name: 'sh',
    stateful: true,
    language: 'sh',
    first: 'echo first; echo warning >&2',
    second: 'echo second',
  },
  {
    name: 'Python in a fresh process (stateful: false)',
    stateful: false,
    language: 'python',
    first: "import os, sys, time\nprint('first', flush=True)\nprint('warning', file=sys.stderr, flush=True)",
    second: "while not os.path.exists('seen'):\n    time.sleep(0.05)\nprint('second')",
  },
])('output of a running fresh-process block: $name', ({ stateful, language, first, second }) => {
  it('reaches onOutput while the block still runs, and the result is unchanged', async () => {
    const executor = pool.create({ stateful });
    const watcher = outputWatcher();
    // The shell blocks wait for `seen` between their two halves; the Python one does it itself.
    const code = language === 'python' ? `${first}\n${second}` : `${first}\n${WAIT_FOR_SEEN}\n${second}`;
    const block = { language, code };
    const result = executor.executeCodeBlocks([block], { onOutput: watcher.onOutput }).finally(watcher.ended);
    await watcher.sawText('first');
    await writeWorkspaceFile(executor.sandboxId!, 'seen');
    const streamed = await result;
    expect(streamed).toEqual({ exitCode: 0, output: 'warning\nfirst\nsecond\n' });
    // The same block without onOutput ('seen' exists now, so it does not wait) answers the same.
    expect(await executor.executeCodeBlocks([block])).toEqual(streamed);
    // A poll that comes after both lines hands out stdout first.
    expect(watcher.seen.find((chunk) => chunk.stream === 'stdout')).toEqual({
      stream: 'stdout',
      text: 'first\n',
      whileRunning: true,
    });
    expect(
      watcher.seen
        .filter((chunk) => chunk.stream === 'stderr')
        .map((chunk) => chunk.text)
        .join(''),
    ).toBe('warning\n');
    expect(watcher.seen.every((chunk) => chunk.whileRunning)).toBe(true);
    expect(await leftOutputCopies(executor)).toBe('0');
  });
});

describe('a streamed fresh-process block that is stopped', () => {
  it('does not wait for a process the block left running with its output', async () => {
    // Without a bound on the wait for the output copies, the server's backstop would end the run (124).
    const executor = pool.create({ stateful: false, timeoutMs: 3_000 });
    const watcher = outputWatcher();
    const result = await executor.executeCodeBlocks(
      [{ language: 'bash', code: 'sleep 120.31 &\necho done' }],
      {
        onOutput: watcher.onOutput,
      },
    );
    expect(result).toEqual({ exitCode: 0, output: 'done\n' });
  });

  it('times out with its partial output, streamed before the timeout', async () => {
    const executor = pool.create({ stateful: false, timeoutMs: 2_000 });
    const watcher = outputWatcher();
    const result = await executor
      .executeCodeBlocks([{ language: 'bash', code: 'echo partial\nsleep 29.31\necho after' }], {
        onOutput: watcher.onOutput,
      })
      .finally(watcher.ended);
    expect(result).toEqual({ exitCode: 124, output: 'partial\nTimeout' });
    expect(watcher.seen[0]).toEqual({ stream: 'stdout', text: 'partial\n', whileRunning: true });
    expect(await leftOutputCopies(executor)).toBe('0');
  });

  it('is aborted once its first line was streamed, and answers that line and Aborted', async () => {
    const executor = pool.create({ stateful: false });
    const watcher = outputWatcher();
    const controller = new AbortController();
    const result = executor
      .executeCodeBlocks([{ language: 'bash', code: 'echo partial\nsleep 28.31\necho after' }], {
        onOutput: watcher.onOutput,
        signal: controller.signal,
      })
      .finally(watcher.ended);
    await watcher.sawText('partial');
    const sandboxId = executor.sandboxId;
    controller.abort();
    expect(await result).toEqual({ exitCode: 130, output: 'partial\nAborted' });
    expect(watcher.seen[0]).toEqual({ stream: 'stdout', text: 'partial\n', whileRunning: true });
    // Stopped inside the sandbox, which is kept.
    expect(executor.sandboxId).toBe(sandboxId);
    expect(await leftOutputCopies(executor)).toBe('0');
  });
});

describe('streamed output with a character split between polls', () => {
  it('arrives intact, the character whole in the chunk after the split', async () => {
    const executor = pool.create({ stateful: false });
    const watcher = outputWatcher();
    // The first two bytes of the euro sign (e2 82 ac), then, once a poll has read them, the last.
    const code = ["printf 'a\\xe2\\x82'", WAIT_FOR_SEEN, "printf '\\xac\\n'"].join('\n');
    const result = executor
      .executeCodeBlocks([{ language: 'bash', code }], { onOutput: watcher.onOutput })
      .finally(watcher.ended);
    await watcher.sawText('a');
    await writeWorkspaceFile(executor.sandboxId!, 'seen');
    expect(await result).toEqual({ exitCode: 0, output: 'a€\n' });
    expect(watcher.seen[0]).toEqual({ stream: 'stdout', text: 'a', whileRunning: true });
    expect(watcher.seen.map((chunk) => chunk.text).join('')).not.toContain('\uFFFD');
  });
});
