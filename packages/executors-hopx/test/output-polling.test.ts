import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeOutputChunk } from '@hopgen/agents';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
