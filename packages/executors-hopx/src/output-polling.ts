import type { CodeOutputChunk } from '@hopgen/agents';
import type { Sandbox } from '@hopx-ai/sdk';

/** How long after a block starts, and between polls, the executor asks for its new output, in milliseconds. */
export const OUTPUT_POLL_INTERVAL_MS = 100;

/** The streams a running block's output is copied from, each to a file of its own. */
type OutputStream = CodeOutputChunk['stream'];

/**
 * The bash word for the file in the sandbox that a running block (`streamToken`, letters and
 * digits) copies `stream` to: the persistent Python runner and the fresh-process script both write
 * it, the poll reads it.
 */
export function outputCopyFile(streamToken: string, stream: OutputStream): string {
  return `"\${TMPDIR:-/tmp}/hopgen-block-${streamToken}-${stream}"`;
}

/**
 * A bash script that prints, base64-encoded on one line each, the bytes of the running block's
 * stdout copy past `stdoutBytes` and of its stderr copy past `stderrBytes` (nothing for a file that
 * does not exist yet). Base64, because the server decodes a command's output as UTF-8 and a
 * character whose bytes were not all written yet would come back as U+FFFD.
 *
 * stderr is read before stdout. The persistent Python runner writes each copy as the block prints,
 * so what a poll finds on stderr was written before the poll read stdout, and a stdout line the
 * block printed before it is in the same poll and handed out first. Read the other way round, a
 * block printing to stdout and then to stderr between the two reads had its stderr line handed
 * out before the stdout line it followed. (A fresh process's copies are written by two `tee`
 * processes, so their order across the streams is as the two happened to run.)
 */
export function buildOutputPollScript(streamToken: string, stdoutBytes: number, stderrBytes: number): string {
  return [
    `stderr=$(tail -c +${stderrBytes + 1} ${outputCopyFile(streamToken, 'stderr')} 2>/dev/null | base64 -w 0)`,
    `tail -c +${stdoutBytes + 1} ${outputCopyFile(streamToken, 'stdout')} 2>/dev/null | base64 -w 0`,
    'echo',
    'printf \'%s\\n\' "$stderr"',
    'exit 0',
    '',
  ].join('\n');
}

/** One stream's position in its copy, and the bytes of a character cut in two by a poll. */
class StreamReader {
  bytes = 0;
  readonly #decoder = new TextDecoder('utf-8');

  /** The text of `encoded` (base64), keeping an unfinished character for the next poll. */
  read(encoded: string): string {
    const chunk = Buffer.from(encoded, 'base64');
    this.bytes += chunk.length;
    return this.#decoder.decode(chunk, { stream: true });
  }
}

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
  const stdout = new StreamReader();
  const stderr = new StreamReader();
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const answer = await sandbox.commands.run(
        buildOutputPollScript(streamToken, stdout.bytes, stderr.bytes),
        {
          timeout: 10,
        },
      );
      if (stopped) return;
      const lines = (answer.stdout ?? '').split('\n');
      if (lines.length < 3) return;
      const stdoutText = stdout.read(lines[0] ?? '');
      const stderrText = stderr.read(lines[1] ?? '');
      if (stdoutText.length > 0) onOutput({ stream: 'stdout', text: stdoutText });
      if (stderrText.length > 0) onOutput({ stream: 'stderr', text: stderrText });
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
