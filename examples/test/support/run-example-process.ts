import { chmod, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../../test/support/run-command.js';

/** The repository root; examples run from here, as the README says. */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What running an example as a child process produced. */
export interface ExampleRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The TMPDIR the example ran with: the local sandbox keeps its workspaces under it. */
  temporaryDirectory: string;
  /** Absolute path of the run's out directory, from the `report:` line the example prints. */
  runDirectory: string | undefined;
}

/**
 * Runs `examples/<file>` with tsx the way a newcomer would, offline: no OpenAI or HopX variables, so
 * the example must pick the local sandbox and its scripted model.
 */
export async function runExampleProcess(file: string, timeoutMs = 110_000): Promise<ExampleRun> {
  const temporaryDirectory = await mkdtemp(join(tmpdir(), 'hopgen-example-test-'));
  // The sandbox's user must be able to traverse TMPDIR to reach its workspace (mkdtemp makes it 0700).
  await chmod(temporaryDirectory, 0o711);
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: temporaryDirectory,
    NO_COLOR: '1',
    CI: '1',
  };
  for (const name of [
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'OPENAI_MODEL',
    'HOPX_API_KEY',
    'HOPX_BASE_URL',
    'INIT_CWD',
  ]) {
    delete environment[name];
  }
  const started = performance.now();
  const { exitCode, stdout, stderr } = await runCommand(
    join(repositoryRoot, 'node_modules/.bin/tsx'),
    [join('examples', file)],
    { cwd: repositoryRoot, env: environment, timeoutMs },
  );
  const report = /report:\s+(\S+report\.html)/.exec(stdout)?.[1];
  return {
    exitCode,
    stdout,
    stderr,
    durationMs: performance.now() - started,
    temporaryDirectory,
    runDirectory: report === undefined ? undefined : join(repositoryRoot, report, '..'),
  };
}

/** Processes whose command line mentions `directory` (bwrap binds the sandbox workspaces from there). */
export async function processesUsing(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(directory))
      found.push(`${entry}: ${commandLine.replaceAll('\0', ' ').slice(0, 200)}`);
  }
  return found;
}

/**
 * What the local sandbox left under `directory`: sandbox roots (`hopgen-sandboxes-*`, `hopgen-none-*`)
 * and uid leases. The lease directory itself (`hopgen-sandbox-uids`) is shared by every server on the
 * host and stays, but a lease left in it is a sandbox that was never released.
 */
export async function sandboxDirectoriesIn(directory: string): Promise<string[]> {
  const left: string[] = [];
  for (const name of await readdir(directory)) {
    if (name === 'hopgen-sandbox-uids') {
      for (const lease of await readdir(join(directory, name))) left.push(`${name}/${lease}`);
    } else if (name.startsWith('hopgen-')) left.push(name);
  }
  return left;
}

/** True when `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 8)).equals(
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  );
}
