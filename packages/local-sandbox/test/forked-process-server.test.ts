import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForkServer } from '../src/isolation/fork-server.js';
import { ForkSockets } from '../src/isolation/fork-sockets.js';
import { startForkedProcessServer } from '../src/isolation/forked-process-server.js';
import { HolderLauncher, type LaunchedHolder } from '../src/isolation/holder-launcher.js';

/** Below the backend's default uid range, so no sandbox of a server running meanwhile has it. */
const HOLDER_UID = 1_899_999_003;

let directory: string;
let forkServer: ForkServer;
let sockets: ForkSockets;
const launcher = new HolderLauncher('/usr/bin/python3');

/** Children of `pid`, over all its threads. */
function children(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
  );
}

/** Whether `pid` is a process that has not exited (a zombie has). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once `check` holds, looking again every few milliseconds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Options of a start that needs nothing of the sandbox beyond its holder. */
const START_OPTIONS = {
  forkServer: 'base',
  cwd: '/',
  env: {},
  config: { run_cgroup: null, landlock: false, start_repl: false, limits: null },
};

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hopgen-forked-start-'));
  await writeFile(path.join(directory, 'filter.bpf'), Buffer.alloc(8));
  sockets = await ForkSockets.listen(path.join(directory, 'sockets'));
  forkServer = await ForkServer.start({
    name: 'base',
    python: '/usr/bin/python3',
    runtimeDirectory: fileURLToPath(new URL('../runtime', import.meta.url)),
    seccompFile: path.join(directory, 'filter.bpf'),
    socketPath: sockets.path,
    configDirectory: path.join(directory, 'config'),
    preloadModules: [],
    environment: {},
  });
}, 60_000);

afterAll(async () => {
  launcher.close();
  await forkServer?.close();
  await sockets?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("a forked sandbox's start", () => {
  it('fails, naming the bound, when the holder never prints its line, and releases the holder, the joiner and its connections', async () => {
    const [forkServerPid] = children(process.pid).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fork_server'),
    );
    expect(forkServerPid).toBeDefined();
    let holder: LaunchedHolder | undefined;
    const start = startForkedProcessServer(
      {
        // Stands for a sandbox stuck in its start (frozen, bwrap blocked): up, and silent.
        launchHolder: () => {
          holder = launcher.launch({
            argv: ['/usr/bin/sleep', '60'],
            procsFiles: [],
            uid: HOLDER_UID,
            seccompFile: path.join(directory, 'filter.bpf'),
            arguments: '',
          });
          return holder;
        },
        procsFiles: [],
      },
      forkServer,
      sockets,
      START_OPTIONS,
      500,
    );
    await expect(start).rejects.toThrow(
      /holder was not ready within 500 ms: the sandbox is stuck in its start/,
    );
    expect(await holder!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(sockets.waiting).toBe(0);
    // The joiner was told to give up: only the spare for the next request is left.
    await until(() => children(forkServerPid!).length <= 1);
  });

  it("fails with the joiner's error when its check of the holder fails after it connected", async () => {
    // A cgroup of the v1 pids hierarchy (this host's layout) that the joiner joins and the holder does not.
    const cgroup = `/sys/fs/cgroup/pids/hopgen-forked-start-${process.pid}`;
    await mkdir(cgroup);
    let holder: LaunchedHolder | undefined;
    try {
      const start = startForkedProcessServer(
        {
          launchHolder: () => {
            holder = launcher.launch({
              // One process down, as the holder is below bwrap's init.
              argv: ['/bin/sh', '-c', "/bin/sh -c 'echo; exec /usr/bin/sleep 60'; exit $?"],
              procsFiles: [],
              uid: HOLDER_UID,
              seccompFile: path.join(directory, 'filter.bpf'),
              arguments: '',
            });
            return holder;
          },
          procsFiles: [path.join(cgroup, 'cgroup.procs')],
        },
        forkServer,
        sockets,
        START_OPTIONS,
      );
      await expect(start).rejects.toThrow(
        /could not start a sandbox's process server \(exit 1: .*is not in the sandbox's cgroups/,
      );
      expect(await holder!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await until(() => readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8') === '');
      await rmdir(cgroup);
    }
  });

  it('ends a joiner left waiting for its holder when the fork server dies', async () => {
    const ownSockets = await ForkSockets.listen(path.join(directory, 'own-sockets'));
    const ownServer = await ForkServer.start({
      name: 'own',
      python: '/usr/bin/python3',
      runtimeDirectory: fileURLToPath(new URL('../runtime', import.meta.url)),
      seccompFile: path.join(directory, 'filter.bpf'),
      socketPath: ownSockets.path,
      configDirectory: path.join(directory, 'own-config'),
      preloadModules: [],
      environment: {},
    });
    try {
      const expected = [ownSockets.expect(), ownSockets.expect(), ownSockets.expect()];
      ownServer.fork({
        tokens: [expected[0]!.token, expected[1]!.token, expected[2]!.token],
        procs: [],
        cwd: START_OPTIONS.cwd,
        env: START_OPTIONS.env,
        config: START_OPTIONS.config,
      });
      // Connected: the joiner now waits for the holder's pid, which never comes.
      const connections = await Promise.all(expected.map((connection) => connection.connection));
      const joiners = children(ownServer.pid);
      expect(joiners.length).toBeGreaterThanOrEqual(1);
      await ownServer.close();
      await until(() => joiners.every((pid) => !alive(pid)));
      for (const socket of connections) socket.destroy();
    } finally {
      await ownServer.close();
      await ownSockets.close();
    }
  });
});
