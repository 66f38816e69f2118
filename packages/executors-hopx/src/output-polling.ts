import type { CodeOutputChunk } from '@hopgen/agents';
import type { Sandbox } from '@hopx-ai/sdk';
import { buildOutputPollScript } from './persistent-python.js';

/** How long after a block starts, and between polls, the executor asks for its new output, in milliseconds. */
export const OUTPUT_POLL_INTERVAL_MS = 100;

/**
 * Asks the sandbox every {@link OUTPUT_POLL_INTERVAL_MS} for what the running block (`streamToken`)
 * printed since the last poll and hands it to `onOutput`. The first poll waits one interval, so a
 * short block costs nothing. Returns the function that stops it; nothing is handed out after it
 * is called (a poll still in flight is dropped), so output never follows the block's result.
 */
export function pollBlockOutput(
  sandbox: Sandbox,
  streamToken: string,
  onOutput: (chunk: CodeOutputChunk) => void,
): () => void {
  let stopped = false;
  let stdoutBytes = 0;
  let stderrBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const answer = await sandbox.commands.run(
        buildOutputPollScript(streamToken, stdoutBytes, stderrBytes),
        {
          timeout: 10,
        },
      );
      if (stopped) return;
      const text = answer.stdout ?? '';
      const separator = text.indexOf('\0');
      if (separator === -1) return;
      const stdout = text.slice(0, separator);
      const stderr = text.slice(separator + 1);
      stdoutBytes += Buffer.byteLength(stdout);
      stderrBytes += Buffer.byteLength(stderr);
      if (stdout.length > 0) onOutput({ stream: 'stdout', text: stdout });
      if (stderr.length > 0) onOutput({ stream: 'stderr', text: stderr });
    } catch {
      // Streaming is a preview: the block's result still carries all of its output.
    }
    if (!stopped) timer = setTimeout(poll, OUTPUT_POLL_INTERVAL_MS);
  };
  timer = setTimeout(poll, OUTPUT_POLL_INTERVAL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
