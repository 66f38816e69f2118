import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DangerousCommandError, LocalCommandLineCodeExecutor } from '@hopgen/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'hopgen-local-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function processesMentioning(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe('LocalCommandLineCodeExecutor', () => {
  it('runs python, bash and javascript blocks and joins their output', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: 'print(6 * 7)' },
      { language: 'bash', code: 'echo from-bash' },
      { language: 'js', code: 'console.log("from-node")' },
    ]);
    expect(result).toMatchObject({ exitCode: 0, output: '42\nfrom-bash\nfrom-node\n' });
    expect(result.codeFile).toMatch(/tmp_code_[0-9a-f]{32}\.py$/);
  });

  it('stops at the first failing block and reports its exit code and stderr', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([
      { language: 'sh', code: 'echo before; exit 3' },
      { language: 'python', code: 'print("never")' },
    ]);
    expect(result.exitCode).toBe(3);
    expect(result.output).toBe('before\n');
    const failure = await executor.executeCodeBlocks([
      { language: 'python', code: 'raise ValueError("boom")' },
    ]);
    expect(failure.exitCode).toBe(1);
    expect(failure.output).toMatch(/ValueError: boom/);
  });

  it('saves `# filename:` blocks inside workDir and refuses paths outside it', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: '# filename: pkg/hello.py\nprint("hi")' },
    ]);
    expect(result.output).toBe('hi\n');
    expect(await readFile(join(workDir, 'pkg/hello.py'), 'utf8')).toMatch(/print/);
    const outside = await executor.executeCodeBlocks([
      { language: 'python', code: '# filename: ../escape.py\nprint(1)' },
    ]);
    expect(outside).toEqual({ exitCode: 1, output: 'Filename is not in the workspace' });
    // A plain first-line comment is not a file name.
    const comment = await executor.executeCodeBlocks([
      { language: 'python', code: '# compute things\nprint(2)' },
    ]);
    expect(comment.codeFile).toMatch(/tmp_code_/);
  });

  it('answers unknown languages with exit code 1', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([{ language: 'cobol', code: 'DISPLAY "HI"' }]);
    expect(result).toMatchObject({ exitCode: 1, output: '\nunknown language cobol' });
  });

  it('kills the whole process group at the timeout, keeps partial output and answers 124', async () => {
    const marker = `hopgen-timeout-${process.pid}-${Date.now()}`;
    const executor = new LocalCommandLineCodeExecutor({ workDir, timeoutMs: 1500 });
    const started = Date.now();
    const result = await executor.executeCodeBlocks([
      {
        language: 'bash',
        code: `echo partial\n(sleep 300; echo ${marker}) &\nsleep 300 # ${marker}`,
      },
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(124);
    expect(result.output).toBe('partial\n\nTimeout');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(processesMentioning(marker)).toEqual([]);
  });

  it('rejects timeouts a timer cannot hold instead of timing out at once', () => {
    expect(() => new LocalCommandLineCodeExecutor({ timeoutMs: 0 })).toThrow(
      /timeoutMs must be a number of milliseconds/,
    );
    expect(() => new LocalCommandLineCodeExecutor({ timeoutMs: Number.POSITIVE_INFINITY })).toThrow(
      /from 1 to 2147483647/,
    );
    expect(() => new LocalCommandLineCodeExecutor({ timeoutMs: 3_000_000_000 })).toThrow(
      /from 1 to 2147483647/,
    );
  });

  it('runs nothing when the signal is already aborted', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const controller = new AbortController();
    controller.abort();
    const result = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo ran > ran.txt' }], {
      signal: controller.signal,
    });
    expect(result).toMatchObject({ exitCode: 130, output: 'Aborted' });
    await expect(readFile(join(workDir, 'ran.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('stops an aborted block and answers its partial output, then Aborted', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const controller = new AbortController();
    const running = executor.executeCodeBlocks(
      [{ language: 'bash', code: 'echo started; touch started.txt; sleep 30' }],
      { signal: controller.signal },
    );
    while (
      !(await readFile(join(workDir, 'started.txt')).then(
        () => true,
        () => false,
      ))
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await running).toMatchObject({ exitCode: 130, output: 'started\nAborted' });
  });
});

describe('LocalCommandLineCodeExecutor, as AutoGen 0.2.40', () => {
  it('shows a block’s stderr before its stdout, so a traceback comes first and names the saved file', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const streams = await executor.executeCodeBlocks([
      // Flushed first, so an executor that interleaves the streams as they come would show stdout first.
      {
        language: 'python',
        code: "import sys, time\nprint('to stdout', flush=True)\ntime.sleep(0.2)\nprint('to stderr', file=sys.stderr)",
      },
    ]);
    expect(streams).toMatchObject({ exitCode: 0, output: 'to stderr\nto stdout\n' });
    const code = "print('before')\n1 / 0";
    const failure = await executor.executeCodeBlocks([{ language: 'python', code }]);
    const hash = createHash('md5').update(code).digest('hex');
    expect(failure.exitCode).toBe(1);
    expect(failure.output.startsWith('Traceback (most recent call last):\n')).toBe(true);
    expect(failure.output).toContain(`File "${join(workDir, `tmp_code_${hash}.py`)}", line 2, in <module>`);
    expect(failure.output).toMatch(/ZeroDivisionError: division by zero\nbefore\n$/);
  });

  it('answers an unknown language after a successful block with AutoGen’s text', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: "print('a')" },
      { language: 'markdown', code: '# title' },
    ]);
    expect(result).toMatchObject({ exitCode: 1, output: 'a\n\nunknown language markdown' });
  });

  it.each([
    ['rm -rf ./build', "Use of 'rm -rf' command is not allowed."],
    ['mv notes.txt /dev/null', 'Moving files to /dev/null is not allowed.'],
    ['dd if=/dev/zero of=disk.img bs=1M count=1', "Use of 'dd' command is not allowed."],
    ['echo wipe > /dev/sda1', 'Overwriting disk blocks directly is not allowed.'],
    [':(){ :|:& };:', 'Fork bombs are not allowed.'],
  ])('refuses `%s` before any block runs', async (command, reason) => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const run = executor.executeCodeBlocks([
      { language: 'sh', code: 'echo ran > first.txt' },
      { language: 'bash', code: `echo second\n${command}` },
    ]);
    await expect(run).rejects.toThrow(DangerousCommandError);
    await expect(run).rejects.toThrow(`Potentially dangerous command detected: ${reason}`);
    await expect(readFile(join(workDir, 'first.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('checks only shell blocks, as AutoGen does', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const result = await executor.executeCodeBlocks([{ language: 'python', code: "print('rm -rf x')" }]);
    expect(result).toMatchObject({ exitCode: 0, output: 'rm -rf x\n' });
  });

  it('restart() warns that it does nothing, with AutoGen’s text', async () => {
    const executor = new LocalCommandLineCodeExecutor({ workDir });
    const warning = new Promise<Error>((resolve) => process.once('warning', resolve));
    await executor.restart();
    const emitted = await warning;
    expect(emitted.name).toBe('HopgenWarning');
    expect(emitted.message).toBe(
      'Restarting local command line code executor is not supported. No action is taken.',
    );
  });
});
