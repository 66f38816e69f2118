import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/run-example-process.js';

// The examples are what users copy: each stays a short script that shows the API plainly. Longer code
// (harness, scripted models, printers) belongs in examples/scripted or examples/demo.
const MINIMUM_LINES = 20;
const MAXIMUM_LINES = 40;
const examplesDirectory = join(repositoryRoot, 'examples');

/** Lines as `wc -l` counts them: newline characters, so a last line without one is not counted. */
function lineCount(text: string): number {
  return text.split('\n').length - 1;
}

describe('examples/*.ts', () => {
  it(`are each ${MINIMUM_LINES} to ${MAXIMUM_LINES} lines long, counted as wc -l does`, async () => {
    const files = (await readdir(examplesDirectory)).filter((name) => name.endsWith('.ts')).sort();
    expect(files.length).toBeGreaterThanOrEqual(11);
    const outside: string[] = [];
    for (const file of files) {
      const lines = lineCount(await readFile(join(examplesDirectory, file), 'utf8'));
      if (lines < MINIMUM_LINES || lines > MAXIMUM_LINES) outside.push(`${file}: ${lines} lines`);
    }
    expect(outside, `shorten these to ${MINIMUM_LINES}-${MAXIMUM_LINES} lines`).toEqual([]);
  });
});
