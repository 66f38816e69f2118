/**
 * Joins a block's stdout and stderr the way AutoGen's command-line executors show them to the model:
 * stderr first, then stdout, with nothing between (so a traceback comes before the printed output).
 */
export function combineStreams(stdout: string, stderr: string): string {
  return `${stderr}${stdout}`;
}

/**
 * Keeps the head and the tail of an output longer than `maxChars` and says in the middle how
 * many characters were dropped, so a runaway loop cannot flood the model's context.
 */
export function truncateOutput(output: string, maxChars: number): string {
  if (output.length <= maxChars) return output;
  const headLength = Math.ceil(maxChars / 2);
  const tailLength = maxChars - headLength;
  const dropped = output.length - headLength - tailLength;
  const head = output.slice(0, headLength);
  const tail = tailLength > 0 ? output.slice(output.length - tailLength) : '';
  return `${head}\n... [output truncated: ${dropped} characters dropped] ...\n${tail}`;
}
