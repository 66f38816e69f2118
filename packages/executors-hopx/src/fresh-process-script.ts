import type { LanguageRuntime } from './languages.js';

/** Extra seconds `timeout` waits after SIGTERM before it sends SIGKILL. */
export const KILL_GRACE_SECONDS = 2;

/**
 * The bash script sent to `runCode(..., { language: 'bash' })` to run one block as a fresh process.
 * The source travels base64-encoded in a quoted here-document (no quoting or escaping issues), is
 * written to a private temporary directory, and runs under GNU `timeout`, which kills the whole
 * process group when time is up and exits 124. The request therefore returns normally with the
 * output printed before the timeout, and no process outlives it.
 */
export function buildFreshProcessScript(runtime: LanguageRuntime, code: string, timeoutMs: number): string {
  const encoded = Buffer.from(code, 'utf8')
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  const seconds = Math.max(timeoutMs / 1000, 0.001).toFixed(3);
  const command = runtime.command.replaceAll('{file}', '"$__hopgen_file"');
  return [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
    '__hopgen_dir="$(mktemp -d "${TMPDIR:-/tmp}/hopgen-XXXXXXXX")" || exit 1',
    `__hopgen_file="$__hopgen_dir/block${runtime.fileExtension}"`,
    `base64 -d > "$__hopgen_file" <<'__HOPGEN_SOURCE__'`,
    `${encoded}__HOPGEN_SOURCE__`,
    `timeout --kill-after=${KILL_GRACE_SECONDS} ${seconds} ${command}`,
    '__hopgen_status=$?',
    'rm -rf "$__hopgen_dir"',
    'exit $__hopgen_status',
    '',
  ].join('\n');
}
