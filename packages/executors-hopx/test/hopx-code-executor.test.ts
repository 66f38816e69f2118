import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CodeBlock } from '@hopgen/agents';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecutorClosedError,
  HopXCodeExecutor,
  type HopXCodeExecutorEvents,
  INTERPRETER_RESTARTED_NOTICE,
  InvalidExecutorOptionError,
  MissingApiKeyError,
  SANDBOX_RESTARTED_NOTICE,
  SandboxAuthenticationError,
  SandboxServerUnreachableError,
} from '../src/index.js';
import { ExecutorPool, liveSandboxIds, startTestServer, type TestServer } from './support/local-server.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let server: TestServer;
let outputDir: string;
const pool = new ExecutorPool(() => ({ apiKey: server.apiKey, baseURL: server.baseURL, outputDir }));

beforeAll(async () => {
  server = await startTestServer();
  outputDir = await mkdtemp(join(tmpdir(), 'hopgen-executor-test-'));
});

afterEach(async () => {
  await pool.closeAll();
  expect(await liveSandboxIds(server)).toEqual([]);
});

afterAll(async () => {
  await server?.close();
  await rm(outputDir, { recursive: true, force: true });
});

describe('HopXCodeExecutor languages', () => {
  it('runs python, bash, javascript and typescript blocks in one sandbox', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(sum(range(10)))' },
      { language: 'sh', code: 'echo "shell $((6 * 7))"' },
      { language: 'js', code: 'console.log([1, 2, 3].map((n) => n * 2).join(","))' },
      {
        language: 'ts',
        code: 'const greet = (name: string): string => "hi " + name;\nconsole.log(greet("ts"));',
      },
    ]);
    expect(result).toEqual({ exitCode: 0, output: '45\nshell 42\n2,4,6\nhi ts\n' });
  });

  it('stops at the first failing block and shows its stderr before its stdout, as AutoGen does', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([
      { language: 'bash', code: 'echo out; echo oops >&2; exit 3' },
      { language: 'bash', code: 'echo never' },
    ]);
    expect(result.exitCode).toBe(3);
    expect(result.output).toBe('oops\nout\n');
  });

  it('reports a Python exception with its traceback and exit code 1', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([{ language: 'python', code: 'x = 1\n1 / 0' }]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('ZeroDivisionError: division by zero');
    expect(result.output).toContain('line 2');
  });

  it('answers an unknown language with exit code 1 without creating a sandbox', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([{ language: 'cobol', code: 'DISPLAY "HI".' }]);
    expect(result).toEqual({ exitCode: 1, output: '\nunknown language cobol' });
    expect(executor.sandboxId).toBeUndefined();
    expect(await liveSandboxIds(server)).toEqual([]);
  });

  it('names line and column of a TypeScript syntax error without touching the sandbox', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([
      { language: 'typescript', code: 'const x: number = ;' },
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/^TypeScript syntax error at line 1, column 19: Expression expected/);
    expect(executor.sandboxId).toBeUndefined();
  });

  it('adds -qqq to pip install lines as AutoGen does, and pip says at once that there is no network', async () => {
    const executor = pool.create();
    const shadowed = await executor.executeCodeBlocks([
      { language: 'bash', code: 'pip() { echo "pip $*"; }\npip install numpy' },
    ]);
    expect(shadowed).toEqual({ exitCode: 0, output: 'pip install -qqq numpy\n' });
    const real = await executor.executeCodeBlocks([{ language: 'bash', code: 'pip install requests' }]);
    expect(real.exitCode).toBe(1);
    expect(real.output).toMatch(
      /^pip install: this sandbox has no network access, so nothing can be installed; use the installed packages: .*numpy.*\n$/,
    );
  });

  it('offers go and javascript only where the template has them', async () => {
    const codeInterpreter = pool.create();
    const go = await codeInterpreter.executeCodeBlocks([
      { language: 'go', code: 'package main\nimport "fmt"\nfunc main() { fmt.Println("go ran") }' },
    ]);
    // The local template lists Go only when the host has it.
    expect(go).toEqual(
      hostHas('go') ? { exitCode: 0, output: 'go ran\n' } : { exitCode: 1, output: '\nunknown language go' },
    );
    const base = pool.create({ template: 'base' });
    const javascript = await base.executeCodeBlocks([{ language: 'js', code: 'console.log(1)' }]);
    expect(javascript).toEqual({ exitCode: 1, output: '\nunknown language js' });
    const bash = await base.executeCodeBlocks([{ language: 'bash', code: 'echo still here' }]);
    expect(bash).toEqual({ exitCode: 0, output: 'still here\n' });
  });

  it('lets the languages option add aliases and runtimes', async () => {
    const executor = pool.create({
      languages: { py3: 'python', perlish: { fileExtension: '.sh', command: 'bash {file} extra-argument' } },
    });
    const result = await executor.executeCodeBlocks([
      { language: 'py3', code: 'print("alias")' },
      { language: 'perlish', code: 'echo "arg=$1"' },
    ]);
    expect(result).toEqual({ exitCode: 0, output: 'alias\narg=extra-argument\n' });
    expect(() => pool.create({ languages: { loop: 'loop' } })).toThrow(InvalidExecutorOptionError);
  });
});

describe('HopXCodeExecutor state', () => {
  it('keeps Python variables from one message to the next, and a trailing expression is printed', async () => {
    const executor = pool.create();
    await expect(executor.executeCodeBlocks([{ language: 'python', code: 'counter = 41' }])).resolves.toEqual(
      {
        exitCode: 0,
        output: '',
      },
    );
    const firstSandbox = executor.sandboxId;
    const result = await executor.executeCodeBlocks([{ language: 'python', code: 'counter += 1\ncounter' }]);
    expect(result).toEqual({ exitCode: 0, output: '42\n' });
    expect(executor.sandboxId).toBe(firstSandbox);
  });

  it('runs every block as a fresh process when stateful is false; files persist', async () => {
    const executor = pool.create({ stateful: false });
    await executor.executeCodeBlocks([
      { language: 'python', code: 'value = 7\nopen("kept.txt", "w").write("7")' },
    ]);
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(open("kept.txt").read())\nprint(value)' },
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/\n7\n$/);
    expect(result.output).toContain("NameError: name 'value' is not defined");
  });

  it('restart() replaces the sandbox and its state is lost', async () => {
    const executor = pool.create();
    await executor.executeCodeBlocks([{ language: 'python', code: 'secret = "s3"' }]);
    const before = executor.sandboxId;
    await executor.restart();
    expect(executor.sandboxId).toBeUndefined();
    expect(await liveSandboxIds(server)).toEqual([]);
    const result = await executor.executeCodeBlocks([{ language: 'python', code: 'print(secret)' }]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain("NameError: name 'secret' is not defined");
    expect(executor.sandboxId).not.toBe(before);
  });

  it('close() kills the sandbox, is safe twice, and later use fails clearly', async () => {
    const executor = pool.create();
    await executor.executeCodeBlocks([{ language: 'bash', code: 'true' }]);
    expect(await liveSandboxIds(server)).toHaveLength(1);
    await executor.close();
    await executor.close();
    expect(await liveSandboxIds(server)).toEqual([]);
    const closed = executor.executeCodeBlocks([{ language: 'bash', code: 'true' }]);
    await expect(closed).rejects.toThrow(ExecutorClosedError);
    await expect(closed).rejects.toMatchObject({ nothingRan: true });
  });

  it('Symbol.asyncDispose kills the sandbox at the end of the scope', async () => {
    const executor = pool.create();
    await executor.executeCodeBlocks([{ language: 'bash', code: 'true' }]);
    expect(await liveSandboxIds(server)).toHaveLength(1);
    await executor[Symbol.asyncDispose]();
    expect(await liveSandboxIds(server)).toEqual([]);
  });
});

describe('HopXCodeExecutor timeouts', () => {
  it('kills a fresh process that runs too long, keeps its partial output, and leaves no process behind', async () => {
    const executor = pool.create({ timeoutMs: 1_500, stateful: false });
    const started = Date.now();
    const result = await executor.executeCodeBlocks([
      { language: 'bash', code: 'sleep 31.4159 &\necho before\nsleep 27.1828\necho after' },
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toEqual({ exitCode: 124, output: 'before\nTimeout' });
    expect(leftoverProcesses('sleep 31.4159|sleep 27.1828')).toEqual([]);
    const again = await executor.executeCodeBlocks([{ language: 'python', code: 'print("still usable")' }]);
    expect(again).toEqual({ exitCode: 0, output: 'still usable\n' });
  });

  it('interrupts a stateful Python block in the interpreter and keeps the interpreter state', async () => {
    const executor = pool.create({ timeoutMs: 1_500 });
    await executor.executeCodeBlocks([{ language: 'python', code: 'kept = "yes"' }]);
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: 'import time\nprint("before", flush=True)\ntime.sleep(29.97)\nprint("after")',
      },
    ]);
    expect(result).toEqual({ exitCode: 124, output: 'before\nTimeout' });
    const again = await executor.executeCodeBlocks([{ language: 'python', code: 'print(kept)' }]);
    expect(again).toEqual({ exitCode: 0, output: 'yes\n' });
  });

  it('kills the processes a timed-out stateful Python block started', async () => {
    const executor = pool.create({ timeoutMs: 1_500 });
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: [
          'import subprocess',
          'child = subprocess.Popen(["bash", "-c", "sleep 41.2345 & sleep 42.3456"])',
          'print("spawned", flush=True)',
          'child.wait()',
        ].join('\n'),
      },
    ]);
    expect(result).toEqual({ exitCode: 124, output: 'spawned\nTimeout' });
    expect(leftoverProcesses('sleep 41.2345|sleep 42.3456')).toEqual([]);
  });
  it('says the variables are lost when a stateful block that blocks SIGALRM hits the server backstop', async () => {
    const executor = pool.create({ timeoutMs: 1_000 });
    await executor.executeCodeBlocks([{ language: 'python', code: 'kept = "yes"' }]);
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: 'import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\ntime.sleep(60)',
      },
    ]);
    expect(result).toEqual({ exitCode: 124, output: `Timeout\n${INTERPRETER_RESTARTED_NOTICE}` });
    const again = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(globals().get("kept"))' },
    ]);
    expect(again).toEqual({ exitCode: 0, output: 'None\n' });
  }, 30_000);

  it('kills what a timed-out stateful block detached with setsid, and leaves no zombie', async () => {
    const executor = pool.create({ timeoutMs: 1_500 });
    const marker = '/workspace/alive-55.123';
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: [
          'import subprocess, time',
          `subprocess.Popen(["bash", "-c", '(setsid bash -c "while true; do echo x >> ${marker}; sleep 0.1; done" &); echo started']).wait()`,
          'print("spawned", flush=True)',
          'time.sleep(30)',
        ].join('\n'),
      },
    ]);
    expect(result).toEqual({ exitCode: 124, output: 'started\nspawned\nTimeout' });
    const lengthAfterTimeout = (await executor.readFile(marker)).length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await executor.readFile(marker)).length).toBe(lengthAfterTimeout);
    expect(leftoverProcesses(marker)).toEqual([]);
    const processes = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: 'import subprocess\nprint(subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout)',
      },
    ]);
    expect(processes.output).not.toMatch(/^Z/m);
    expect(processes.output).not.toContain(marker);
  });
});

describe('HopXCodeExecutor abort', () => {
  /**
   * Runs a first block, then `block` (which writes `started` in the workspace once it has printed)
   * with a signal, and aborts it as soon as the file exists. Resolves with the run's result.
   */
  async function abortOnceStarted(executor: HopXCodeExecutor, first: CodeBlock, block: CodeBlock) {
    await executor.executeCodeBlocks([first]);
    const sandboxId = executor.sandboxId as string;
    const controller = new AbortController();
    const running = executor.executeCodeBlocks([block], { signal: controller.signal });
    await waitForSandboxFile(sandboxId, '/workspace/started');
    controller.abort();
    return { result: await running, sandboxId };
  }

  it('stops an aborted fresh process, answers its partial output and Aborted, and keeps the sandbox', async () => {
    const executor = pool.create({ stateful: false });
    const { result, sandboxId } = await abortOnceStarted(
      executor,
      { language: 'bash', code: 'true' },
      { language: 'bash', code: 'echo started; touch started; sleep 23.4567' },
    );
    expect(result).toEqual({ exitCode: 130, output: 'started\nAborted' });
    expect(await liveSandboxIds(server)).toEqual([sandboxId]);
    expect(leftoverProcesses('sleep 23.4567')).toEqual([]);
    const again = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo again' }]);
    expect(again).toEqual({ exitCode: 0, output: 'again\n' });
    expect(executor.sandboxId).toBe(sandboxId);
  });

  it('interrupts an aborted stateful Python block and keeps its variables', async () => {
    const executor = pool.create();
    const { result } = await abortOnceStarted(
      executor,
      { language: 'python', code: 'kept = 41' },
      {
        language: 'python',
        code: 'import subprocess, time\nprint("started", flush=True)\nsubprocess.Popen(["sleep", "34.5678"])\nopen("started", "w").close()\ntime.sleep(60)',
      },
    );
    expect(result).toEqual({ exitCode: 130, output: 'started\nAborted' });
    expect(leftoverProcesses('sleep 34.5678')).toEqual([]);
    const again = await executor.executeCodeBlocks([{ language: 'python', code: 'print(kept + 1)' }]);
    expect(again).toEqual({ exitCode: 0, output: '42\n' });
  });

  it('kills the sandbox of a block that ignores the interrupt, and says so at the next block', async () => {
    const executor = pool.create();
    const { result } = await abortOnceStarted(
      executor,
      { language: 'python', code: 'kept = 41' },
      {
        language: 'python',
        code: 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint("started", flush=True)\nopen("started", "w").close()\ntime.sleep(60)',
      },
    );
    expect(result).toEqual({ exitCode: 130, output: 'Aborted' });
    expect(await liveSandboxIds(server)).toEqual([]);
    const again = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo again' }]);
    expect(again).toEqual({ exitCode: 0, output: `${SANDBOX_RESTARTED_NOTICE}\nagain\n` });
  });

  it('answers a run aborted before it started without touching the sandbox', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo never' }], {
      signal: AbortSignal.abort(),
    });
    expect(result).toEqual({ exitCode: 130, output: 'Aborted' });
    expect(executor.sandboxId).toBeUndefined();
  });
});

describe('HopXCodeExecutor output', () => {
  it('cuts long output to head and tail and says how much was dropped', async () => {
    const executor = pool.create({ maxOutputChars: 1_000 });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print("H" * 600 + "x" * 50000 + "T" * 600)' },
    ]);
    expect(result.exitCode).toBe(0);
    // 51,201 characters with the newline; 1,000 are kept.
    expect(result.output).toContain('[output truncated: 50201 characters dropped]');
    expect(result.output.startsWith('H'.repeat(500))).toBe(true);
    expect(result.output.endsWith(`${'T'.repeat(499)}\n`)).toBe(true);
    expect(result.output.length).toBeLessThan(1_100);
  });

  it('saves a displayed matplotlib figure as a PNG under outputDir and names it in the output', async () => {
    const folder = await mkdtemp(join(outputDir, 'figure-'));
    const executor = pool.create({ outputDir: folder });
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()\nprint("plotted")',
      },
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.outputFiles).toHaveLength(1);
    const [path] = result.outputFiles ?? [];
    expect(path).toBe(join(folder, 'figure.png'));
    // The model sees the name relative to the output folder, never a host path.
    expect(result.output).toBe('plotted\nImage saved to figure.png');
    const bytes = await readFile(path as string);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(bytes.length).toBeGreaterThan(1_000);
  });
  it('saves every figure a block shows, not only the first', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: [
          'import matplotlib.pyplot as plt',
          'plt.figure(); plt.plot([1, 2], [3, 4])',
          'plt.figure(); plt.bar(["a", "b"], [5, 6])',
          'plt.show()',
        ].join('\n'),
      },
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.outputFiles).toHaveLength(2);
    const [first, second] = await Promise.all((result.outputFiles ?? []).map((path) => readFile(path)));
    expect(first?.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(second?.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(first?.equals(second as Buffer)).toBe(false);
    expect(result.output.match(/Image saved to /g)).toHaveLength(2);
  });
});

describe('HopXCodeExecutor image limits and cleanup', () => {
  const threeFigures = [
    'import matplotlib.pyplot as plt',
    'for n in range(3):',
    '    plt.figure(); plt.plot([0, n + 1])',
    'plt.show()',
  ].join('\n');

  it('saves at most maxImagesPerBlock images of a block and says how many were left out', async () => {
    const executor = pool.create({ maxImagesPerBlock: 1 });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: threeFigures }]);
    expect(result.exitCode).toBe(0);
    expect(result.outputFiles).toHaveLength(1);
    expect(result.output).toBe(
      `Image saved to ${basename(result.outputFiles?.[0] ?? '')}\n[2 more images not saved: over the per-block image limit]`,
    );
  });

  it('saves no image past maxImageBytesPerBlock', async () => {
    const executor = pool.create({ maxImageBytesPerBlock: 100 });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: threeFigures }]);
    expect(result).toEqual({
      exitCode: 0,
      output: '[3 more images not saved: over the per-block image limit]',
    });
  });

  it('without outputDir keeps images in a temporary directory that close() removes', async () => {
    const executor = pool.create({ outputDir: undefined });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: threeFigures }]);
    const paths = result.outputFiles ?? [];
    expect(paths).toHaveLength(3);
    const directory = dirname(paths[0] as string);
    expect(directory.startsWith(join(tmpdir(), 'hopgen-hopx-'))).toBe(true);
    expect(paths.every((path) => dirname(path) === directory)).toBe(true);
    expect(existsSync(paths[0] as string)).toBe(true);
    await executor.close();
    expect(existsSync(directory)).toBe(false);
  });

  it('keeps images written to outputDir after close()', async () => {
    const executor = pool.create();
    const result = await executor.executeCodeBlocks([{ language: 'python', code: threeFigures }]);
    await executor.close();
    expect((result.outputFiles ?? []).every((path) => existsSync(path))).toBe(true);
  });
});

describe('HopXCodeExecutor image files named by the code (collectImageFiles)', () => {
  const salesChart = [
    'import matplotlib.pyplot as plt',
    'plt.bar(["north", "south"], [120, 95])',
    'plt.savefig("sales_analysis.png")',
    'plt.show()',
  ].join('\n');

  it('saves savefig("sales_analysis.png") as sales_analysis.png, once, and names it relative to the output folder', async () => {
    const folder = await mkdtemp(join(outputDir, 'named-'));
    const executor = pool.create({ outputDir: folder });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: salesChart }], {
      collectImageFiles: true,
    });
    expect(result.exitCode).toBe(0);
    // The figure was saved and shown: the file stands for it, so the chart is not there twice.
    expect(result.outputFiles).toEqual([join(folder, 'sales_analysis.png')]);
    expect(result.output).toBe('Image saved to sales_analysis.png');
    const saved = await readFile(join(folder, 'sales_analysis.png'));
    expect(saved.equals(await executor.downloadFile('/workspace/sales_analysis.png'))).toBe(true);
  });

  it('resolves collisions: a second run of the block, and a file already in the folder, get -2, -3', async () => {
    const folder = await mkdtemp(join(outputDir, 'collide-'));
    await writeFile(join(folder, 'sales_analysis.png'), 'not mine');
    const executor = pool.create({ outputDir: folder });
    const first = await executor.executeCodeBlocks([{ language: 'python', code: salesChart }], {
      collectImageFiles: true,
    });
    const second = await executor.executeCodeBlocks([{ language: 'python', code: salesChart }], {
      collectImageFiles: true,
    });
    expect(first.output).toBe('Image saved to sales_analysis-2.png');
    expect(second.output).toBe('Image saved to sales_analysis-3.png');
    expect(await readFile(join(folder, 'sales_analysis.png'), 'utf8')).toBe('not mine');
  });

  it('reports only the PNGs the block wrote: not files uploaded before, not files left unchanged', async () => {
    const folder = await mkdtemp(join(outputDir, 'only-new-'));
    const executor = pool.create({ outputDir: folder });
    await executor.writeFile('/workspace/logo.png', new Uint8Array(PNG_SIGNATURE));
    const drawing = await executor.executeCodeBlocks(
      [
        {
          language: 'python',
          code: [
            'import matplotlib.pyplot as plt',
            'plt.plot([1, 2]); plt.savefig("trend.png"); plt.close()',
            'plt.figure(); plt.plot([3, 1]); plt.figure(); plt.plot([2, 2])',
            'plt.show()',
          ].join('\n'),
        },
      ],
      { collectImageFiles: true },
    );
    // One file it wrote and two figures it only displayed: all three, the file first.
    expect(drawing.output).toBe(
      'Image saved to trend.png\nImage saved to figure.png\nImage saved to figure-2.png',
    );
    const quiet = await executor.executeCodeBlocks([{ language: 'python', code: 'print("no drawing")' }], {
      collectImageFiles: true,
    });
    expect(quiet).toEqual({ exitCode: 0, output: 'no drawing\n' });
  });

  it('without collectImageFiles saves only the displayed figure, as before', async () => {
    const folder = await mkdtemp(join(outputDir, 'display-only-'));
    const executor = pool.create({ outputDir: folder });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: salesChart }]);
    expect(result.output).toBe('Image saved to figure.png');
  });
});

describe('HopXCodeExecutor files', () => {
  it('uploads a local file the code reads, and downloads what the code wrote', async () => {
    const executor = pool.create();
    const local = join(outputDir, 'numbers.csv');
    await writeFile(local, 'a,b\n1,2\n3,4\n');
    await executor.uploadFile(local, '/workspace/numbers.csv');
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: [
          'rows = open("/workspace/numbers.csv").read().split()[1:]',
          'total = sum(int(x) for row in rows for x in row.split(","))',
          'open("/workspace/total.bin", "wb").write(bytes([0, 255, total]))',
          'print(total)',
        ].join('\n'),
      },
    ]);
    expect(result).toEqual({ exitCode: 0, output: '10\n' });
    const downloaded = await executor.downloadFile('/workspace/total.bin');
    expect(Buffer.isBuffer(downloaded)).toBe(true);
    expect([...downloaded]).toEqual([0, 255, 10]);
  });

  it('writeFile and readFile round-trip text and bytes', async () => {
    const executor = pool.create();
    await executor.writeFile('/workspace/note.txt', 'héllo\nwörld\n');
    expect(await executor.readFile('/workspace/note.txt')).toBe('héllo\nwörld\n');
    await executor.writeFile('/workspace/raw.bin', new Uint8Array([1, 2, 3, 250]));
    expect([...(await executor.downloadFile('/workspace/raw.bin'))]).toEqual([1, 2, 3, 250]);
    const seen = await executor.executeCodeBlocks([{ language: 'bash', code: 'cat /workspace/note.txt' }]);
    expect(seen.output).toBe('héllo\nwörld\n');
  });
});

describe('HopXCodeExecutor options and events', () => {
  it('refuses to start without an API key and says how to fix it', () => {
    const saved = process.env.HOPX_API_KEY;
    delete process.env.HOPX_API_KEY;
    try {
      expect(() => new HopXCodeExecutor({ baseURL: server.baseURL })).toThrow(MissingApiKeyError);
      expect(() => new HopXCodeExecutor({ baseURL: server.baseURL })).toThrow(/HOPX_API_KEY/);
    } finally {
      if (saved !== undefined) process.env.HOPX_API_KEY = saved;
    }
  });

  it('check() passes against a running server without creating a sandbox', async () => {
    const executor = pool.create();
    await executor.check();
    expect(executor.sandboxId).toBeUndefined();
    expect(await liveSandboxIds(server)).toEqual([]);
  });

  it('check() and the first block say what to start when nothing answers at baseURL', async () => {
    const baseURL = `http://127.0.0.1:${await unusedPort()}`;
    const executor = pool.create({ baseURL, maxRetries: 0 });
    const checked = executor.check();
    await expect(checked).rejects.toThrow(SandboxServerUnreachableError);
    await expect(checked).rejects.toThrow(
      `No HopX sandbox server answers at ${baseURL} (connect ECONNREFUSED ${baseURL.slice('http://'.length)}). Start the local one with \`npx hopgen-sandbox\``,
    );
    const first = executor.executeCodeBlocks([{ language: 'bash', code: 'echo hi' }]);
    await expect(first).rejects.toThrow(/No HopX sandbox server answers at .*npx hopgen-sandbox/);
    // Nothing ran, so a durable run may run the block later instead of calling it interrupted.
    await expect(first).rejects.toMatchObject({ nothingRan: true });
  });

  it('check() says when the server refuses the API key', async () => {
    const executor = pool.create({ apiKey: 'not-the-key' });
    await expect(executor.check()).rejects.toThrow(SandboxAuthenticationError);
  });

  it('reads HOPX_API_KEY and HOPX_BASE_URL from the environment', async () => {
    const saved = { key: process.env.HOPX_API_KEY, url: process.env.HOPX_BASE_URL };
    process.env.HOPX_API_KEY = server.apiKey;
    process.env.HOPX_BASE_URL = server.baseURL;
    try {
      const executor = new HopXCodeExecutor({ outputDir });
      try {
        await expect(executor.executeCodeBlocks([{ language: 'bash', code: 'echo env' }])).resolves.toEqual({
          exitCode: 0,
          output: 'env\n',
        });
      } finally {
        await executor.close();
      }
    } finally {
      restoreEnv('HOPX_API_KEY', saved.key);
      restoreEnv('HOPX_BASE_URL', saved.url);
    }
  });

  it('rejects nonsensical options', () => {
    expect(() => pool.create({ timeoutMs: 0 })).toThrow(
      /timeoutMs must be a positive number of milliseconds/,
    );
    expect(() => pool.create({ maxRetries: -1 })).toThrow(InvalidExecutorOptionError);
  });

  it('passes envVars into the sandbox', async () => {
    const executor = pool.create({ envVars: { HOPGEN_GREETING: 'bonjour' } });
    const result = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo "$HOPGEN_GREETING"' }]);
    expect(result).toEqual({ exitCode: 0, output: 'bonjour\n' });
  });

  it('emits start, output and end events with durations and the sandbox id', async () => {
    const executor = pool.create();
    const events: Array<[string, unknown]> = [];
    const names: Array<keyof HopXCodeExecutorEvents> = [
      'execution-started',
      'block-finished',
      'execution-finished',
    ];
    for (const name of names) executor.on(name, (event: unknown) => events.push([name, event]));
    await executor.executeCodeBlocks([
      { language: 'bash', code: 'echo one' },
      { language: 'python', code: 'print("two")' },
    ]);
    expect(events.map(([name]) => name)).toEqual([
      'execution-started',
      'block-finished',
      'block-finished',
      'execution-finished',
    ]);
    const sandboxId = executor.sandboxId;
    expect(sandboxId).toBeTypeOf('string');
    expect(events[0]?.[1]).toMatchObject({
      executionId: 1,
      languages: ['bash', 'python'],
      sandboxId: undefined,
    });
    expect(events[1]?.[1]).toMatchObject({ blockIndex: 0, exitCode: 0, output: 'one\n', sandboxId });
    expect(events[2]?.[1]).toMatchObject({ blockIndex: 1, exitCode: 0, output: 'two\n', sandboxId });
    const end = events[3]?.[1] as { durationMs: number; sandboxId: string; exitCode: number };
    expect(end).toMatchObject({ executionId: 1, exitCode: 0, sandboxId, sandboxRestarted: false });
    expect(end.durationMs).toBeGreaterThan(0);
  });
});

/** Resolves once `path` exists in the sandbox: the block got that far (asked through the real SDK). */
async function waitForSandboxFile(sandboxId: string, path: string): Promise<void> {
  const sandbox = await Sandbox.connect(sandboxId, server.apiKey, server.baseURL);
  while (!(await sandbox.files.exists(path))) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function hostHas(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function leftoverProcesses(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
