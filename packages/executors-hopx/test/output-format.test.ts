import { describe, expect, it } from 'vitest';
import { combineStreams, truncateOutput } from '../src/output-format.js';

describe('combineStreams', () => {
  it('puts stderr after STDERR: on its own line', () => {
    expect(combineStreams('out\n', 'err\n')).toBe('out\nSTDERR:\nerr\n');
    expect(combineStreams('out', 'err')).toBe('out\nSTDERR:\nerr');
    expect(combineStreams('', 'err')).toBe('STDERR:\nerr');
    expect(combineStreams('only\n', '')).toBe('only\n');
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
