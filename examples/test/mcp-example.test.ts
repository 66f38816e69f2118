import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runExampleProcess } from './support/run-example-process.js';

describe('MCP example, offline', () => {
  it('08 MCP tools: the assistant calls run_code of `hopgen-sandbox mcp`, which really runs the code', async () => {
    const result = await runExampleProcess('08-mcp-tools.ts');
    await rm(result.temporaryDirectory, { recursive: true, force: true });
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
    expect(result.stdout).toContain('***** Suggested tool call (call_1): run_code *****');
    // 5050 comes from the sandbox: the scripted model only repeats the tool's answer.
    expect(result.stdout).toContain('exitcode: 0 (execution succeeded)\nCode output: 5050');
    expect(result.stdout).toContain('The sandbox says: 5050. TERMINATE');
  });
});
