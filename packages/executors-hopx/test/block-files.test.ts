import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PYTHON_MODES, useTestServerPool } from './support/local-server.js';

const pool = useTestServerPool();

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

describe.each(PYTHON_MODES)('HopXCodeExecutor # filename: ($mode Python)', ({ stateful }) => {
  it('saves a block under its # filename: before it runs, so a later sh block can run it', async () => {
    const executor = pool.create({ stateful });
    const hello = '# filename: hello.py\nprint("hello from the file")';
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: hello },
      { language: 'sh', code: 'python3 hello.py' },
    ]);
    expect(result).toEqual({ exitCode: 0, output: 'hello from the file\nhello from the file\n' });
    expect(await executor.readFile('/workspace/hello.py')).toBe(hello);
  });

  it('saves into subdirectories of the workspace and names the saved file in a traceback', async () => {
    const executor = pool.create({ stateful });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: '# filename: scripts/broken.py\nprint("before")\n1 / 0' },
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(
      /^Traceback \(most recent call last\):\n {2}File "\/workspace\/scripts\/broken\.py", line 3, in <module>\n/,
    );
    expect(result.output).toMatch(/ZeroDivisionError: division by zero\nbefore\n$/);
  });

  it('refuses a name outside the workspace with AutoGen’s message and runs nothing', async () => {
    const executor = pool.create({ stateful });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: '# filename: ../escaped.py\nprint("ran")' },
    ]);
    expect(result).toEqual({ exitCode: 1, output: 'Filename is not in the workspace' });
    const listing = await executor.executeCodeBlocks([
      { language: 'sh', code: 'ls -A / | grep -c escaped.py || true' },
    ]);
    expect(listing).toEqual({ exitCode: 0, output: '0\n' });
  });

  it('names a block without a file tmp_code_<md5>.py in its traceback and leaves no file behind', async () => {
    const executor = pool.create({ stateful });
    const code = 'print("before")\nraise ValueError("bad value")';
    const result = await executor.executeCodeBlocks([{ language: 'python', code }]);
    expect(result.exitCode).toBe(1);
    const file = stateful ? `tmp_code_${md5(code)}.py` : `/tmp/hopgen-[A-Za-z0-9]+/tmp_code_${md5(code)}.py`;
    expect(result.output).toMatch(
      new RegExp(`^Traceback \\(most recent call last\\):\\n {2}File "${file}", line 2, in <module>\\n`),
    );
    expect(result.output).toMatch(/ValueError: bad value\nbefore\n$/);
    const listing = await executor.executeCodeBlocks([
      { language: 'sh', code: "find /workspace -name 'tmp_code_*' | wc -l" },
    ]);
    expect(listing).toEqual({ exitCode: 0, output: '0\n' });
  });
});

describe('HopXCodeExecutor # filename: in other languages', () => {
  it('saves bash and javascript blocks under their names; TypeScript is saved as written', async () => {
    const executor = pool.create();
    const typescript =
      '// filename: greet.ts\nconst greet = (name: string): string => "hi " + name;\nconsole.log(greet("ts"));';
    const result = await executor.executeCodeBlocks([
      { language: 'bash', code: '# filename: tools/count.sh\necho "args: $#"' },
      { language: 'js', code: '// filename: add.js\nconsole.log(1 + 2);' },
      { language: 'ts', code: typescript },
      { language: 'sh', code: 'bash tools/count.sh a b && node add.js' },
    ]);
    expect(result).toEqual({ exitCode: 0, output: 'args: 0\n3\nhi ts\nargs: 2\n3\n' });
    expect(await executor.readFile('/workspace/greet.ts')).toBe(typescript);
  });
});
