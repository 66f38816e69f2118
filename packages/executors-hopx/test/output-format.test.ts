import { describe, expect, it } from 'vitest';
import { truncateOutput } from '../src/output-format.js';
import { PYTHON_MODES, useTestServerPool } from './support/local-server.js';

const pool = useTestServerPool();

// AutoGen 0.2.40's command-line executors answer stderr, then stdout, blocks concatenated as printed.
describe.each(PYTHON_MODES)('HopXCodeExecutor output layout ($mode)', ({ stateful }) => {
  it('puts what a Python block printed to stderr before what it printed to stdout', async () => {
    const executor = pool.create({ stateful });
    const result = await executor.executeCodeBlocks([
      {
        language: 'python',
        code: "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)",
      },
    ]);
    expect(result).toEqual({ exitCode: 0, output: 'to stderr\nto stdout\n' });
  });

  it('answers an unknown language after a successful block as AutoGen does', async () => {
    const executor = pool.create({ stateful });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: "print('a')" },
      { language: 'markdown', code: '# not code' },
      { language: 'python', code: "print('never')" },
    ]);
    expect(result).toEqual({ exitCode: 1, output: 'a\n\nunknown language markdown' });
  });

  it('joins the blocks of one message with nothing added between them', async () => {
    const executor = pool.create({ stateful });
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: "print('one', end='')" },
      { language: 'sh', code: 'printf two' },
    ]);
    expect(result).toEqual({ exitCode: 0, output: 'onetwo' });
  });
});

describe('truncateOutput', () => {
  it('leaves short output alone', () => {
    expect(truncateOutput('abc', 3)).toBe('abc');
  });

  it('keeps head and tail and counts the dropped characters', () => {
    const text = `${'a'.repeat(10)}${'-'.repeat(100)}${'z'.repeat(10)}`;
    expect(truncateOutput(text, 20)).toBe(
      `${'a'.repeat(10)}\n... [output truncated: 100 characters dropped] ...\n${'z'.repeat(10)}`,
    );
  });
});
