import { type BlockFiles, FILENAME_OUTSIDE_WORKSPACE } from './block-files.js';
import { RUNNING_BLOCK_FILE } from './block-interrupt.js';
import type { LanguageRunner } from './languages.js';
import { outputCopyFile } from './output-polling.js';

/** Extra seconds `timeout` waits after SIGTERM before it sends SIGKILL. */
export const KILL_GRACE_SECONDS = 2;

/**
 * Longest wait, in seconds, for the output copies of a block that left a process running with its
 * stdout or stderr: that process may print for as long as it lives, the answer does not wait for it.
 */
const TEE_WAIT_SECONDS = 1;

/** One block as the fresh-process script runs it. */
export interface FreshProcessBlock {
  /** The block as the model wrote it: what a `# filename:` block is saved as. */
  source: string;
  /** What runs: the source, or what the runtime's `prepare` made of it (transpiled TypeScript). */
  code: string;
  /** Where the source is saved and the name a block without one runs under. */
  files: BlockFiles;
}

/**
 * The bash script sent to `runCode(..., { language: 'bash' })` to run one block as a fresh process.
 * Sources travel base64-encoded in quoted here-documents (no quoting or escaping issues). A block
 * with a `# filename:` comment is saved under that name in the working directory (refused, like
 * AutoGen, when the name resolves outside it) and runs from there, so later blocks can use the file
 * and tracebacks name it; any other block runs as `tmp_code_<md5>.<ext>` from a private temporary
 * directory removed afterwards. The run is under GNU `timeout`, which kills the whole process group
 * when time is up and exits 124: the request returns normally with the output printed before the
 * timeout, and no process outlives it.
 *
 * With `streamToken` (letters and digits), the block's stdout and stderr also go through `tee` to
 * the files the executor polls while it runs (`output-polling.ts`); the script waits for both
 * copies to finish before it answers, so the request's output is the same as without them.
 */
export function buildFreshProcessScript(
  runtime: LanguageRunner,
  block: FreshProcessBlock,
  timeoutMs: number,
  streamToken?: string,
): string {
  const seconds = Math.max(timeoutMs / 1000, 0.001).toFixed(3);
  const command = runtime.command.replaceAll('{file}', '"$__hopgen_file"');
  const scratchFile = `"$__hopgen_dir"/${shellQuote(block.files.scratchName)}`;
  const lines = [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
    '__hopgen_dir="$(mktemp -d "${TMPDIR:-/tmp}/hopgen-XXXXXXXX")" || exit 1',
  ];
  const { saveAs } = block.files;
  if (saveAs !== undefined) {
    const encodedName = Buffer.from(saveAs, 'utf8').toString('base64');
    lines.push(
      `__hopgen_saved="$(realpath -m -- "$(printf %s '${encodedName}' | base64 -d)")"`,
      'case "$__hopgen_saved" in',
      '  "$(pwd -P)"/?*) ;;',
      `  *) rm -rf "$__hopgen_dir"; printf %s ${shellQuote(FILENAME_OUTSIDE_WORKSPACE)}; exit 1 ;;`,
      'esac',
      'mkdir -p -- "$(dirname -- "$__hopgen_saved")" || { rm -rf "$__hopgen_dir"; exit 1; }',
      ...writeBase64('"$__hopgen_saved"', block.source, '{ rm -rf "$__hopgen_dir"; exit 1; }'),
    );
  }
  if (saveAs !== undefined && block.code === block.source) {
    lines.push('__hopgen_file="$__hopgen_saved"');
  } else {
    lines.push(`__hopgen_file=${scratchFile}`, ...writeBase64('"$__hopgen_file"', block.code, 'exit 1'));
  }
  // A subshell that execs `timeout` keeps its pid, which an abort finds in RUNNING_BLOCK_FILE (not
  // `&`: a background job would start the block with SIGINT ignored). This shell's own stderr goes
  // away so that its `Terminated` line, when an abort stops the block, does not reach the model.
  lines.push('exec 3>&2 2>/dev/null');
  const run = `echo "-TERM $BASHPID" > ${RUNNING_BLOCK_FILE}; exec timeout --kill-after=${KILL_GRACE_SECONDS} ${seconds} ${command}`;
  if (streamToken === undefined) {
    lines.push(`( ${run} 2>&3 3>&- )`, '__hopgen_status=$?', `rm -rf "$__hopgen_dir" ${RUNNING_BLOCK_FILE}`);
  } else {
    const stdoutCopy = outputCopyFile(streamToken, 'stdout');
    const stderrCopy = outputCopyFile(streamToken, 'stderr');
    lines.push(
      // Both tees hold the write end of this FIFO: reading it ends when both have passed on all
      // the block printed and exited, or after TEE_WAIT_SECONDS when a process the block left
      // running keeps their input open (without the tees the answer would not wait for it either).
      'mkfifo "$__hopgen_dir/tees" || exit 1',
      'exec 6<>"$__hopgen_dir/tees" 7<"$__hopgen_dir/tees" 8>"$__hopgen_dir/tees" 6>&-',
      // The tees are this shell's children, outside `timeout`'s process group: a timeout or an abort
      // stops the block, and they still pass on everything it printed before they end.
      `exec 4> >(exec tee -- ${stdoutCopy} 7<&-)`,
      `exec 5> >(exec tee -- ${stderrCopy} >&3 7<&-)`,
      'exec 8>&-',
      `( ${run} >&4 2>&5 3>&- 4>&- 5>&- 7<&- )`,
      '__hopgen_status=$?',
      'exec 4>&- 5>&-',
      `read -r -t ${TEE_WAIT_SECONDS} -u 7`,
      'exec 7<&-',
      `rm -rf "$__hopgen_dir" ${RUNNING_BLOCK_FILE} ${stdoutCopy} ${stderrCopy}`,
    );
  }
  lines.push('exit $__hopgen_status', '');
  return lines.join('\n');
}

function writeBase64(target: string, content: string, onFailure: string): string[] {
  const encoded = Buffer.from(content, 'utf8')
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  return [`base64 -d > ${target} <<'__HOPGEN_SOURCE__' || ${onFailure}`, `${encoded}__HOPGEN_SOURCE__`];
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
