import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

function request(holder: number, holderStart: number): ForkRequest {
  return {
    holder,
    holderStart,
    tokens: ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)],
    procs: [],
    cwd: '/',
    env: {},
    config: { run_cgroup: null, landlock: false, start_repl: false, limits: null },
  };
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hopgen-holder-check-'));
  await writeFile(path.join(directory, 'filter.bpf'), Buffer.alloc(8));
  forkServer = await ForkServer.start({
    name: 'base',
    python: '/usr/bin/python3',
    runtimeDirectory: fileURLToPath(new URL('../runtime', import.meta.url)),
    seccompFile: path.join(directory, 'filter.bpf'),
    // Nothing listens there: a fork that gets past the holder's checks fails when it connects.
    socketPath: path.join(directory, 'nobody.sock'),
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
  await rm(directory, { recursive: true, force: true });
});

describe("the fork server's check of the holder", () => {
  it('refuses a pid whose process started at another time than the holder it was sent for', async () => {
    const real = await startTime(stranger.pid!);
    const exit = await forkServer.fork(request(stranger.pid!, real + 1)).exited;
    expect(exit.code).not.toBe(0);
    expect(exit.error).toMatch(new RegExp(`pid ${stranger.pid} is no longer the sandbox's holder`));
  });

  it('refuses a pid that no process has', async () => {
    const gone = spawn('/usr/bin/true', { stdio: 'ignore' });
    const [pid] = [gone.pid!];
    await new Promise((resolve) => gone.once('exit', resolve));
    const exit = await forkServer.fork(request(pid, 1)).exited;
    expect(exit.code).not.toBe(0);
    expect(exit.error).toMatch(/No such process/);
  });

  it('goes on past the checks for the right process (and fails here only at the missing socket)', async () => {
    const exit = await forkServer.fork(request(stranger.pid!, await startTime(stranger.pid!))).exited;
    expect(exit.code).not.toBe(0);
    expect(exit.error).not.toMatch(/holder/);
    expect(exit.error).toMatch(/No such file or directory/);
  });
});
