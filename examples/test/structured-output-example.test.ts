import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runExampleProcess } from './support/run-example-process.js';

describe('structured-output example, offline', () => {
  it('12 structured output: a reply that breaks the schema is sent back with its issues, the next is typed', async () => {
    const result = await runExampleProcess('12-structured-output.ts');
    await rm(result.temporaryDirectory, { recursive: true, force: true });
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
    expect(result.stdout).toContain(
      'The model was asked again with: Your reply does not match the required JSON schema:\n- totalEur: Invalid input: expected number, received string\n- paid: Invalid input: expected boolean, received undefined\nReply again with only the corrected JSON.',
    );
    expect(result.stdout).toContain('Typed value: ACME owes 1250 EUR (paid: false)');
    // Only the valid answer is in the transcript.
    expect(result.stdout).not.toContain('"totalEur": "1,250"');
  });
});
