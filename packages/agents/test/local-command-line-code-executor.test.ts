import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCommandLineCodeExecutor } from '@hopgen/agents';
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
    expect(result).toMatchObject({ exitCode: 124, output: '\nTimeout' });
    await expect(readFile(join(workDir, 'ran.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
