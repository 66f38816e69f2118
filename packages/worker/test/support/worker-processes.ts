import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
// The `hopgen` command from its sources, as its bin runs the build.
const hopgen = fileURLToPath(new URL('../../../cli/test/fixtures/run-hopgen.ts', import.meta.url));
/** The test pipelines' module, as `hopgen worker --pipelines` takes it. */
export const testPipelines = fileURLToPath(new URL('./test-pipelines.ts', import.meta.url));

/** A `hopgen worker` child process. */
export interface WorkerProcess {
  /** The worker id it printed when ready. */
  id: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** What it printed so far. */
  output: string[];
}

/** Environment of the children: the database, model and sandbox servers, never on the command line. */
export interface FleetEnvironment {
  DATABASE_URL: string;
  [name: string]: string;
}

function start(args: string[], environment: FleetEnvironment): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', hopgen, ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `hopgen worker --pipelines <module> ...args` (the test pipelines by default) and resolves once it is ready. */
export async function spawnWorker(
  environment: FleetEnvironment,
  args: string[] = [],
  pipelinesModule = testPipelines,
): Promise<WorkerProcess> {
  const child = start(['worker', '--pipelines', pipelinesModule, ...args], environment);
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const id = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const ready = /^worker (\S+) ready/.exec(line);
        if (ready) resolve(ready[1] as string);
      }
    });
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    void exited.then((code) =>
      reject(new Error(`hopgen worker exited (${code}) before it was ready: ${errors}`)),
    );
  });
  return { id, child, exited, output };
}

/** Runs `hopgen <args>` to its end. */
export async function runHopgen(
  args: string[],
  environment: FleetEnvironment,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args, environment);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}
