// AutoGen 0.2's `LocalCommandLineCodeExecutor.sanitize_command` patterns and messages, kept as they
// are: a baseline for code that runs on the host without isolation, not a sandbox.
const dangerousPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\brm\s+-rf\b/, "Use of 'rm -rf' command is not allowed."],
  [/\bmv\b.*?\s+\/dev\/null/, 'Moving files to /dev/null is not allowed.'],
  [/\bdd\b/, "Use of 'dd' command is not allowed."],
  [/>\s*\/dev\/sd[a-z][1-9]?/, 'Overwriting disk blocks directly is not allowed.'],
  [/:\(\)\{\s*:\|:&\s*\};:/, 'Fork bombs are not allowed.'],
];

const shellLanguages = new Set(['bash', 'shell', 'sh']);

/**
 * AutoGen's reason for refusing a shell block (`Use of 'rm -rf' command is not allowed.`), or
 * undefined when the block is not a shell block or matches none of AutoGen's patterns.
 */
export function dangerousCommandReason(language: string, code: string): string | undefined {
  if (!shellLanguages.has(language.toLowerCase())) return undefined;
  for (const [pattern, reason] of dangerousPatterns) if (pattern.test(code)) return reason;
  return undefined;
}
