import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ForkRequest, ForkServer } from '../src/isolation/fork-server.js';

/**
 * The fork server joins the namespaces of the holder pid it is given only while that pid is the
 * process the server found: a holder that died, and whose pid another process took, must never lead a
 * sandbox's process server into that process's namespaces.
 */

let directory: string;
let forkServer: ForkServer;
let stranger: ChildProcess;
/** Takes the forks' connections (sent before the holder is checked) and does nothing with them. */
let listener: Server;
const connections: Socket[] = [];

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
async function startTime(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(
    stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .split(/\s+/)[19],
  );
}

/** Forks with `holder` as the sandbox's holder; resolves with how the fork ended. */
function forkInto(
  holder: { pid: number; start: number },
  procs: string[] = [],
  uid: number | null = null,
): Promise<{ code: number; error: string }> {
  const fork = forkServer.fork({ ...request(), procs, uid });
  fork.enter(holder);
  return fork.exited;
}

function request(): ForkRequest {
  return {
    tokens: ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)],
    procs: [],
    cwd: '/',
    env: {},
    config: { run_cgroup: null, landlock: false, start_repl: false, limits: null },
  };
}

/** Resolves once `check` holds, looking again every few milliseconds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5));
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hopgen-holder-check-'));
  await writeFile(path.join(directory, 'filter.bpf'), Buffer.alloc(8));
  listener = createServer((socket) => connections.push(socket));
  await new Promise<void>((resolve) => listener.listen(path.join(directory, 'fork.sock'), resolve));
  forkServer = await ForkServer.start({
    name: 'base',
    python: '/usr/bin/python3',
    runtimeDirectory: fileURLToPath(new URL('../runtime', import.meta.url)),
    seccompFile: path.join(directory, 'filter.bpf'),
    socketPath: path.join(directory, 'fork.sock'),
    configDirectory: path.join(directory, 'config'),
    preloadModules: [],
    environment: {},
  });
  // Stands for a process that took a dead holder's pid.
  stranger = spawn('/usr/bin/sleep', ['60'], { stdio: 'ignore' });
  await new Promise((resolve) => stranger.once('spawn', resolve));
}, 60_000);

afterAll(async () => {
  stranger?.kill('SIGKILL');
  await forkServer?.close();
  for (const socket of connections) socket.destroy();
  listener?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("the fork server's check of the holder", () => {
  it('refuses a pid whose process started at another time than the holder it was sent for', async () => {
    const real = await startTime(stranger.pid!);
    const exit = await forkInto({ pid: stranger.pid!, start: real + 1 });
    expect(exit.code).not.toBe(0);
    expect(exit.error).toMatch(new RegExp(`pid ${stranger.pid} is no longer the sandbox's holder`));
  });

  it('refuses a start time that is missing or not a number instead of skipping the check', async () => {
    // NaN goes out as null in JSON.
    for (const start of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const exit = await forkInto({ pid: stranger.pid!, start });
      expect(exit.code).not.toBe(0);
      expect(exit.error).toMatch(`no valid start time for the sandbox's holder (pid ${stranger.pid}): None`);
    }
  });

  it('refuses the right process when it is not in the cgroups the fork joined', async () => {
    // A cgroup of the v1 pids hierarchy (this host's layout) that the stranger is not in.
    const cgroup = `/sys/fs/cgroup/pids/hopgen-holder-check-${process.pid}`;
    await mkdir(cgroup);
    try {
      const exit = await forkInto({ pid: stranger.pid!, start: await startTime(stranger.pid!) }, [
        path.join(cgroup, 'cgroup.procs'),
      ]);
      expect(exit.code).not.toBe(0);
      expect(exit.error).toMatch(`pid ${stranger.pid} is not in the sandbox's cgroups (`);
      expect(exit.error).toMatch(`hopgen-holder-check-${process.pid}`);
    } finally {
      await rmdir(cgroup);
    }
  });

  it("refuses the right process when the sandbox's uid does not own its outer user namespace (as root)", async () => {
    if (process.getuid?.() !== 0)
      throw new Error('This test checks the root-only uid check: run it as root.');
    // In a user namespace of its own, made by root: its parent (the host's) is owned by uid 0.
    const nested = spawn('/usr/bin/unshare', ['--user', '/usr/bin/sleep', '60'], {
      stdio: 'ignore',
    });
    await new Promise((resolve) => nested.once('spawn', resolve));
    try {
      // unshare execs sleep once the namespace exists.
      await until(async () =>
        (await readFile(`/proc/${nested.pid}/cmdline`, 'utf8')).startsWith('/usr/bin/sleep'),
      );
      const exit = await forkInto(
        { pid: nested.pid!, start: await startTime(nested.pid!) },
        [],
        1_899_999_005,
      );
      expect(exit.code).not.toBe(0);
      expect(exit.error).toMatch(
        `pid ${nested.pid} is not the sandbox's holder: its user namespace is owned by uid 0, not 1899999005`,
      );
    } finally {
      nested.kill('SIGKILL');
    }
  });

  it('refuses a pid that no process has', async () => {
    const gone = spawn('/usr/bin/true', { stdio: 'ignore' });
    const [pid] = [gone.pid!];
    await new Promise((resolve) => gone.once('exit', resolve));
    const exit = await forkInto({ pid, start: 1 });
    expect(exit.code).not.toBe(0);
    expect(exit.error).toMatch(/No such process/);
  });

  it("goes on past the checks for the right process (and fails here only at its namespaces: the host's user namespace has no parent)", async () => {
    const exit = await forkInto({ pid: stranger.pid!, start: await startTime(stranger.pid!) });
    expect(exit.code).not.toBe(0);
    expect(exit.error).not.toMatch(/holder/);
    expect(exit.error).toMatch(/Operation not permitted/);
  });

  it('gives up when the sandbox did not start', async () => {
    const fork = forkServer.fork(request());
    fork.enter(null);
    const exit = await fork.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.error).toBe('');
  });
});
