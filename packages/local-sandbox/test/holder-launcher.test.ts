import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { access, chmod, mkdtemp, open, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HolderLauncher } from '../src/isolation/holder-launcher.js';

/** Below the backend's default uid range, so no sandbox of a server running meanwhile has it. */
const HOLDER_UID = 1_899_999_001;

/** A supplementary group the test process holds, which no holder may keep. */
const SUPPLEMENTARY_GROUP = 1_899_999_002;

/** A host status field of a process (`Uid`, `CapEff`, ...). */
async function statusField(pid: number, field: string): Promise<string | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim();
}

/** Fields 3 (state), 4 (parent pid) and 22 (start time) of /proc/PID/stat. */
function stat(pid: number): { state: string; parent: number; start: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text
    .slice(text.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  return { state: fields[0]!, parent: Number(fields[1]), start: Number(fields[19]) };
}

/** Children of `pid`, over all its threads. */
function children(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
  );
}

/** The launcher: this process's child running the launcher's script. */
function launcherPid(): number {
  const found = children(process.pid).filter((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('def find_holder'),
  );
  if (found.length !== 1) throw new Error(`expected one holder launcher, found ${found.length}`);
  return found[0]!;
}

/** Resolves once `check` holds, looking again every few milliseconds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * A command that starts `script` one process down, as bwrap starts the holder below its init: the
 * launched process is the holder's parent.
 */
function nested(script: string): string[] {
  return ['/bin/sh', '-c', `/bin/sh -c '${script}'; exit $?`];
}

// The tests run as root (AGENTS.md: the machine runs as root), which dropping to another uid needs.
describe('HolderLauncher', () => {
  let directory: string;
  let seccompFile: string;
  const launcher = new HolderLauncher('/usr/bin/python3');

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'hopgen-holder-launcher-'));
    seccompFile = path.join(directory, 'filter.bpf');
    await writeFile(seccompFile, 'filter');
    // Before the launcher starts (on the first launch): it inherits the group, which no holder may keep.
    process.setgroups?.([SUPPLEMENTARY_GROUP]);
  });
  afterAll(async () => {
    launcher.close();
    process.setgroups?.([]);
    await rm(directory, { recursive: true, force: true });
  });

  it('starts a holder with what the spawn path gives it: its cgroups joined, its uid and gid, no groups, capabilities, new privileges or core dumps, fds 0 to 4 only, default signals, an empty environment', async () => {
    if (process.getuid?.() !== 0) throw new Error('This test drops to another uid: run it as root.');
    expect(await statusField(process.pid, 'Groups')).toBe(String(SUPPLEMENTARY_GROUP));
    const procs = [path.join(directory, 'memory.procs'), path.join(directory, 'pids.procs')];
    for (const file of procs) await writeFile(file, '');
    const holder = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: procs,
      uid: HOLDER_UID,
      seccompFile,
      arguments: '--first\0--second\0',
    });
    const { pid, start } = await holder.ready;
    try {
      // The process that printed the line, found below the launched one (as the holder below bwrap).
      const found = stat(pid);
      expect(found.start).toBe(start);
      expect(await readFile(`/proc/${pid}/cmdline`, 'utf8')).toBe('/usr/bin/sleep\x0060\0');
      // Written by the launched process itself before its exec (same pid), as bash wrote `$$`.
      for (const file of procs) expect(await readFile(file, 'utf8')).toBe(String(found.parent));
      expect(await statusField(pid, 'Uid')).toBe(Array(4).fill(HOLDER_UID).join('\t'));
      expect(await statusField(pid, 'Gid')).toBe(Array(4).fill(HOLDER_UID).join('\t'));
      expect(await statusField(pid, 'Groups')).toBe('');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb'])
        expect(await statusField(pid, set)).toBe('0000000000000000');
      expect(await statusField(pid, 'NoNewPrivs')).toBe('1');
      expect(await statusField(pid, 'SigIgn')).toBe('0000000000000000');
      expect(await readFile(`/proc/${pid}/limits`, 'utf8')).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
      // Only what sh itself exports (its working directory): nothing of the server's.
      expect(await readFile(`/proc/${pid}/environ`, 'utf8')).toBe('PWD=/\0');
      expect((await readdir(`/proc/${pid}/fd`)).sort()).toEqual(['0', '1', '2', '3', '4']);
      expect(await readlink(`/proc/${pid}/fd/0`)).toBe('/dev/null');
      expect(await readlink(`/proc/${pid}/fd/2`)).toBe('/dev/null');
      expect(await readlink(`/proc/${pid}/fd/3`)).toBe(seccompFile);
      // bwrap's options wait on fd 4, written in full before the fork.
      expect(await readlink(`/proc/${pid}/fd/4`)).toMatch(/^\/memfd:bwrap-arguments/);
      expect(await readFile(`/proc/${pid}/fd/4`, 'utf8')).toBe('--first\0--second\0');
      expect(holder.exit).toBeNull();
    } finally {
      holder.kill();
    }
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(holder.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('never runs the command when a cgroup cannot be joined, and says how the holder ended', async () => {
    const marker = path.join(directory, 'ran');
    const holder = launcher.launch({
      argv: ['/bin/sh', '-c', `touch ${marker}; echo; exec /usr/bin/sleep 60`],
      procsFiles: [path.join(directory, 'missing', 'cgroup.procs')],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    await expect(holder.ready).rejects.toThrow("the sandbox's holder process exited (125)");
    expect(await holder.exited).toEqual({ code: 125, signal: null });
    await expect(access(marker)).rejects.toThrow(/ENOENT/);
  });

  it('reports a holder that exits before its line, and one that cannot start at all', async () => {
    const quiet = launcher.launch({
      argv: ['/bin/sh', '-c', 'exit 3'],
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    await expect(quiet.ready).rejects.toThrow("the sandbox's holder process exited (3)");
    expect(await quiet.exited).toEqual({ code: 3, signal: null });
    const unreadable = launcher.launch({
      argv: ['/bin/true'],
      procsFiles: [],
      uid: null,
      seccompFile: path.join(directory, 'no-such-filter'),
      arguments: '',
    });
    await expect(unreadable.ready).rejects.toThrow(/could not start .*no-such-filter/);
    expect(await unreadable.exited).toEqual({ code: 1, signal: null });
  });

  it('kills the holders still running when it is closed, and starts again on the next launch', async () => {
    const holder = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    await holder.ready;
    launcher.close();
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const next = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    expect((await next.ready).pid).toBeGreaterThan(0);
    next.kill();
    expect((await next.exited).signal).toBe('SIGKILL');
  });

  it('never reports a holder that died after its line before the launcher read it: the launch fails, with no pid to join', async () => {
    // Where the holder's uid may open it.
    const shared = await mkdtemp(path.join(tmpdir(), 'hopgen-holder-fifo-'));
    await chmod(shared, 0o755);
    const fifo = path.join(shared, 'go');
    execFileSync('/usr/bin/mkfifo', ['--mode=0666', fifo]);
    // The holder prints its line only when told, then dies at once (as one killed right after its
    // echo would); its parent, the launched process, ends with it, as bwrap does.
    const holder = launcher.launch({
      argv: nested(`read line < ${fifo}; echo; exit 0`),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    const go = await open(fifo, 'w');
    const launcherProcess = launcherPid();
    const launched = children(launcherProcess).find((pid) => children(pid).length > 0)!;
    // Stopped, the launcher reads the line only after the holder died and its parent became a zombie.
    process.kill(launcherProcess, 'SIGSTOP');
    try {
      await go.write('\n');
      await go.close();
      await until(() => stat(launched).state === 'Z');
    } finally {
      process.kill(launcherProcess, 'SIGCONT');
    }
    await expect(holder.ready).rejects.toThrow("the sandbox's holder process exited");
    expect(holder.exit).not.toBeNull();
    await rm(shared, { recursive: true, force: true });
  });

  it('fails a launch whose arguments cannot be encoded alone: the other holders live on', async () => {
    const other = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    await other.ready;
    const marker = path.join(directory, 'bad-ran');
    for (const request of [
      { argv: nested(`touch ${marker}; echo`), arguments: 'x\ud800\0' },
      { argv: ['/bin/sh', '-c', `touch ${marker}; echo \ud800`], arguments: '' },
    ]) {
      const bad = launcher.launch({ ...request, procsFiles: [], uid: HOLDER_UID, seccompFile });
      await expect(bad.ready).rejects.toThrow(/could not start .*UnicodeEncodeError/);
      expect(await bad.exited).toEqual({ code: 1, signal: null });
    }
    await expect(access(marker)).rejects.toThrow(/ENOENT/);
    const next = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: '',
    });
    await next.ready;
    expect(other.exit).toBeNull();
    for (const holder of [other, next]) {
      holder.kill();
      expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    }
  });

  it('gives a holder arguments of any size without waiting for it to read them', async () => {
    const large = `${'--option\0'.repeat(200_000)}`;
    const holder = launcher.launch({
      argv: nested('echo; exec /usr/bin/sleep 60'),
      procsFiles: [],
      uid: HOLDER_UID,
      seccompFile,
      arguments: large,
    });
    const { pid } = await holder.ready;
    expect((await readFile(`/proc/${pid}/fd/4`, 'utf8')).length).toBe(large.length);
    holder.kill();
    await holder.exited;
  });

  it('never starts a holder as root: a root server gives each a uid of its own', async () => {
    const marker = path.join(directory, 'root-ran');
    for (const uid of [null, 0]) {
      const holder = launcher.launch({
        argv: ['/bin/sh', '-c', `touch ${marker}; echo`],
        procsFiles: [],
        uid,
        seccompFile,
        arguments: '',
      });
      await expect(holder.ready).rejects.toThrow("the sandbox's holder process exited (125)");
    }
    await expect(access(marker)).rejects.toThrow(/ENOENT/);
  });

  it('gives a holder no capability even when the launcher has inheritable and ambient ones', async () => {
    // Started through setpriv, which raises one capability in the inheritable and ambient sets.
    const wrapper = path.join(directory, 'python-with-capabilities');
    await writeFile(
      wrapper,
      '#!/bin/sh\nexec /usr/bin/setpriv --inh-caps=+net_bind_service --ambient-caps=+net_bind_service /usr/bin/python3 "$@"\n',
      { mode: 0o755 },
    );
    const capable = new HolderLauncher(wrapper);
    try {
      const holder = capable.launch({
        argv: nested('echo; exec /usr/bin/sleep 60'),
        procsFiles: [],
        uid: HOLDER_UID,
        seccompFile,
        arguments: '',
      });
      const { pid } = await holder.ready;
      // The launched process's parent is the launcher: it has them.
      const launcherProcess = stat(stat(pid).parent).parent;
      expect(await statusField(launcherProcess, 'CapAmb')).not.toBe('0000000000000000');
      expect(await statusField(launcherProcess, 'CapInh')).not.toBe('0000000000000000');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb'])
        expect(await statusField(pid, set)).toBe('0000000000000000');
      holder.kill();
      await holder.exited;
    } finally {
      capable.close();
    }
  });
});
