import type { ModelRequest } from '@hopgen/agents';
import { SANDBOX_RESTARTED_NOTICE } from '@hopgen/executors-hopx';
import { capture, executions, lastMessage, parseExecution, python, reportFailure } from './helpers.js';

/**
 * Offline replies of example 6's assistant. It reacts to what the executor reports: when the output
 * says the sandbox was restarted and the state lost, it rebuilds the state instead of pretending.
 */

const LOAD = `
import numpy as np

rng = np.random.default_rng(3)
readings = rng.normal(20.0, 4.0, 5000)  # a day of sensor readings, kept in the interpreter
print(f"Loaded {readings.size} readings")
`;

const ANALYSE = `
hot = readings[readings > 28]
print(f"Mean: {readings.mean():.2f} C; readings above 28 C: {hot.size} ({hot.size / readings.size:.1%})")
`;

export function assistantScript(request: ModelRequest): string {
  const execution = parseExecution(lastMessage(request));
  const runs = executions(request);
  if (execution === undefined) {
    return `Step 1: load the readings into the sandbox's interpreter.\n\n${python(LOAD)}`;
  }
  if (execution.output.includes(SANDBOX_RESTARTED_NOTICE)) {
    return `The executor reports that the sandbox was restarted and its state was lost, so \`readings\` no longer exists. I'll rebuild it and run the analysis in one block.\n\n${python(`${LOAD}\n${ANALYSE}`)}`;
  }
  if (execution.exitCode !== 0) return reportFailure(execution);
  if (runs.length === 1) {
    return `Loaded. Step 2: analyse the readings that are already in memory.\n\n${python(ANALYSE)}`;
  }
  const recovered = runs.some((run) => run.output.includes(SANDBOX_RESTARTED_NOTICE));
  return `${capture(execution.output, /(Mean: .+)/)}.${
    recovered
      ? ' These numbers come from a fresh sandbox: the first one died mid-chat, the state was rebuilt, and the result was recomputed.'
      : ''
  }\n\nTERMINATE`;
}
