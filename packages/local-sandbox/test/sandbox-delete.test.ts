import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox, SandboxExpiredError } from '@hopx-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { mountPointsBelow, registryDirectory, uidLeaseDirectory } from '../src/isolation/server-registry.js';

/**
 * A delete answers once the sandbox is unreachable and its processes are dead; its cgroups, mounts,
 * directories and uid lease are released after the answer, in the background. Nothing of it may
 * run after the answer, a create right after must work, and `close()` must wait for every release.
 */

const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** The kernel's flag of a task in `exit()`: killed, it never returns to user code. */
const PF_EXITING = 0x4;

/**
 * Host pids of the live processes running as `uid`. A zombie is dead, and so is a task already in
 * `exit()`: the init (bwrap) of a killed sandbox's pid namespace sleeps there, out of its cgroups,
 * until the kernel has reaped every other task of the namespace.
 */
async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [status, stat] = await Promise.all([
      readFile(`/proc/${entry}/status`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
    ]);
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    // Fields after the command name: state is the first, flags the seventh.
    const [state, , , , , , flags] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const dead = state === 'Z' || (Number(flags) & PF_EXITING) !== 0;
    if (real === String(uid) && !dead) pids.push(Number(entry));
  }
  return pids;
}

/** Command lines of the processes running as `uid`. */
async function commandsOf(uid: number): Promise<string[]> {
  const commands = await Promise.all(
    (await processesOf(uid)).map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')),
  );
  return commands.map((command) => command.split('\0').join(' ').trim());
}

/** The cgroup directories of this server's sandboxes: what it recorded in the registry. */
async function recordedCgroups(): Promise<string[]> {
  const servers = path.join(registryDirectory(), 'servers');
  const record = (await readdir(servers)).find((name) => name.startsWith(`${process.pid}-`));
  if (!record) return [];
  return (await readFile(path.join(servers, record), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { kind: string; path: string })
    .filter((resource) => resource.kind === 'cgroup')
    .map((resource) => resource.path);
}

describe('deleting a sandbox', () => {
  it('answers with every process dead, serves a create right after, and close() releases the rest', async () => {
    if (process.getuid?.() !== 0) throw new Error('This test needs root (uid leases and tmpfs workspaces).');
    const baseDirectory = await mkdtemp(path.join(tmpdir(), 'hopgen-delete-test-'));
    // Sandboxes run as other uids and must reach their workspaces below it.
    await chmod(baseDirectory, 0o755);
    cleanups.push(() => rm(baseDirectory, { recursive: true, force: true }));
    const server = await startLocalSandboxServer({ isolation: 'bubblewrap', baseDirectory });
    cleanups.push(() => server.close());
    const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };

    const sandboxes = await Promise.all(Array.from({ length: 6 }, () => Sandbox.create(options)));
    const [root] = (await readdir(baseDirectory)).filter((name) => name.startsWith('hopgen-sandboxes-'));
    const uids: number[] = [];
    for (const sandbox of sandboxes) {
      // A stateful interpreter and a run still going when the delete comes.
      await sandbox.runIpython('kept = 42');
      void sandbox.runCode('sleep 60', { language: 'bash', timeout: 90 }).catch(() => undefined);
      const workspace = path.join(baseDirectory, root!, sandbox.sandboxId, 'workspace');
      uids.push((await stat(workspace)).uid);
    }
    for (const uid of uids) {
      await expect.poll(() => commandsOf(uid), { timeout: 30_000 }).toContain('sleep 60');
    }
    const cgroups = await recordedCgroups();
    expect(cgroups.length).toBeGreaterThan(0);
    expect(cgroups.every((cgroup) => existsSync(cgroup))).toBe(true);

    await Promise.all(sandboxes.map((sandbox) => sandbox.kill()));
    // At the answer, not eventually: nothing of a deleted sandbox runs any more.
    for (const uid of uids) expect(await processesOf(uid)).toEqual([]);
    await expect(sandboxes[0]!.runCode('print(1)')).rejects.toBeInstanceOf(SandboxExpiredError);

    const next = await Sandbox.create(options);
    expect((await next.runCode('print(6 * 7)')).stdout).toBe('42\n');
    await next.kill();

    await server.close();
    expect(existsSync(path.join(baseDirectory, root!))).toBe(false);
    expect(await mountPointsBelow(baseDirectory)).toEqual([]);
    expect(cgroups.filter((cgroup) => existsSync(cgroup))).toEqual([]);
    const leases = await readdir(uidLeaseDirectory()).catch(() => [] as string[]);
    expect(leases.filter((lease) => uids.includes(Number(lease)))).toEqual([]);
  });
});
