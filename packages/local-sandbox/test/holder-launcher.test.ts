import { access, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HolderLauncher } from '../src/isolation/holder-launcher.js';

/** Below the backend's default uid range, so no sandbox of a server running meanwhile has it. */
const HOLDER_UID = 1_899_999_001;

/** A host status field of a process (`Uid`, `CapEff`, ...). */
async function statusField(pid: number, field: string): Promise<string | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim();
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
  });
  afterAll(async () => {
    launcher.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('starts a holder with what the spawn path gives it: its cgroups joined, its uid and gid, no groups, capabilities, new privileges or core dumps, fds 0 to 4 only, default signals, an empty environment', async () => {
    if (process.getuid?.() !== 0) throw new Error('This test drops to another uid: run it as root.');
    const procs = [path.join(directory, 'memory.procs'), path.join(directory, 'pids.procs')];
    for (const file of procs) await writeFile(file, '');
    const holder = launcher.launch({
      argv: ['/bin/sh', '-c', 'echo; exec /usr/bin/sleep 60'],
      procsFiles: procs,
      uid: HOLDER_UID,
      seccompFile,
      arguments: '--first\0--second\0',
    });
    const pid = await holder.ready;
    try {
      // Written by the holder itself before its exec (same pid), as bash wrote `$$`.
      for (const file of procs) expect(await readFile(file, 'utf8')).toBe(String(pid));
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
      // bwrap's options wait in the pipe on fd 4.
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
      uid: null,
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
      uid: null,
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
      argv: ['/bin/sh', '-c', 'echo; exec /usr/bin/sleep 60'],
      procsFiles: [],
      uid: null,
      seccompFile,
      arguments: '',
    });
    await holder.ready;
    launcher.close();
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const next = launcher.launch({
      argv: ['/bin/sh', '-c', 'echo; exec /usr/bin/sleep 60'],
      procsFiles: [],
      uid: null,
      seccompFile,
      arguments: '',
    });
    expect(await next.ready).toBeGreaterThan(0);
    next.kill();
    expect((await next.exited).signal).toBe('SIGKILL');
  });
});
