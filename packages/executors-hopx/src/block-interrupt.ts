/**
 * The file, in the sandbox, that names the signal and process that interrupt the running block
 * (`-TERM 123`): the fresh-process script writes `timeout`'s pid there, the stateful Python runner
 * its own. Only one block runs per sandbox at a time, so one file is enough.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
export const RUNNING_BLOCK_FILE = '"${TMPDIR:-/tmp}/hopgen-running-block"';

/** Same file for the Python runner, which reads TMPDIR itself. */
export const RUNNING_BLOCK_FILE_PYTHON =
  "os.path.join(os.environ.get('TMPDIR', '/tmp'), 'hopgen-running-block')";

/**
 * The bash script an abort sends, as a second request, to interrupt the running block so that it
 * returns what it printed. The block may not have written the file yet (the abort came as its
 * request was sent): it waits up to `waitSeconds` for it.
 */
export function buildInterruptScript(waitSeconds: number): string {
  const tries = Math.max(1, Math.round(waitSeconds / 0.05));
  return [
    `for __hopgen_try in $(seq ${tries}); do`,
    `  if [ -s ${RUNNING_BLOCK_FILE} ]; then kill $(cat ${RUNNING_BLOCK_FILE}); exit 0; fi`,
    '  sleep 0.05',
    'done',
    'exit 1',
    '',
  ].join('\n');
}
