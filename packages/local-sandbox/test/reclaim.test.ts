import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import {
  mountPointsBelow,
  registryDirectory,
  type ServerResource,
  uidLeaseDirectory,
} from '../src/isolation/server-registry.js';

/**
 * A server killed with SIGKILL runs no cleanup. The next server, started on another base directory
 * while a third one is alive, must remove everything the dead one left and nothing of the live one.
 */

const CHILD = fileURLToPath(new URL('./support/server-child.ts', import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'hopgen-reclaim-test-'));
  // Sandboxes run as other uids and must reach their workspaces below it.
  await chmod(directory, 0o755);
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/** Starts `support/server-child.ts` and waits for its JSON line. */
async function startServerChild(baseDirectory: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, baseDirectory], {
    cwd: REPOSITORY_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => child.kill('SIGKILL'));
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const ready = await new Promise<{ pid: number }>((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (output.includes('\n')) resolve(JSON.parse(output.split('\n')[0]!) as { pid: number });
    });
    child.once('exit', (code) => reject(new Error(`The server child exited (${code}) before it was ready.`)));
  });
  return { child, pid: ready.pid };
}

/** The resources a server process recorded, from its registry record. */
async function recordedResources(pid: number): Promise<ServerResource[]> {
  const servers = path.join(registryDirectory(), 'servers');
  const name = (await readdir(servers)).find((entry) => entry.startsWith(`${pid}-`));
  if (!name) return [];
  return (await readFile(path.join(servers, name), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ServerResource);
}

async function leasesOwnedBy(pid: number): Promise<string[]> {
  const owned: string[] = [];
  for (const name of await readdir(uidLeaseDirectory()).catch(() => [] as string[])) {
    if ((await readFile(path.join(uidLeaseDirectory(), name), 'utf8').catch(() => '')) === String(pid)) {
      owned.push(name);
    }
  }
  return owned;
}

describe('reclaiming what a SIGKILLed server left', () => {
  it('removes its cgroups, mounts, folders and uid leases from another base directory, and nothing of a live server', async () => {
    const dead = await startServerChild(await temporaryDirectory());
    const live: LocalSandboxServer = await startLocalSandboxServer({
      isolation: 'bubblewrap',
      baseDirectory: await temporaryDirectory(),
    });
    cleanups.push(() => live.close());
    const liveSandbox = await Sandbox.create({
      template: 'code-interpreter',
      apiKey: live.apiKey,
      baseURL: live.baseURL,
    });
    await liveSandbox.files.write('/workspace/live.txt', 'still here');

    dead.child.kill('SIGKILL');
    await once(dead.child, 'exit');

    // What the dead server left: the test would show nothing if there were nothing to reclaim.
    const left = await recordedResources(dead.pid);
    const directories = left.filter((resource) => resource.kind === 'directory').map((entry) => entry.path);
    const cgroups = left.filter((resource) => resource.kind === 'cgroup').map((entry) => entry.path);
    expect(
      directories.filter((directory) => path.basename(directory).startsWith('hopgen-sandboxes-')),
    ).toHaveLength(1);
    expect(
      directories.filter((directory) => path.basename(directory).startsWith('hopgen-files-')),
    ).toHaveLength(1);
    expect(cgroups.length).toBeGreaterThan(0);
    expect(directories.every((directory) => existsSync(directory))).toBe(true);
    expect(cgroups.every((cgroup) => existsSync(cgroup))).toBe(true);
    const deadRoot = directories.find((directory) =>
      path.basename(directory).startsWith('hopgen-sandboxes-'),
    )!;
    expect((await mountPointsBelow(deadRoot)).length).toBeGreaterThanOrEqual(4);
    expect((await leasesOwnedBy(dead.pid)).length).toBeGreaterThanOrEqual(2);
    const liveResources = await recordedResources(process.pid);
    expect(liveResources.length).toBeGreaterThan(0);

    const next = await startLocalSandboxServer({
      isolation: 'bubblewrap',
      baseDirectory: await temporaryDirectory(),
    });
    cleanups.push(() => next.close());

    expect(directories.filter((directory) => existsSync(directory))).toEqual([]);
    expect(cgroups.filter((cgroup) => existsSync(cgroup))).toEqual([]);
    expect(await mountPointsBelow(deadRoot)).toEqual([]);
    expect(await leasesOwnedBy(dead.pid)).toEqual([]);
    expect(await recordedResources(dead.pid)).toEqual([]);

    // The live server lost nothing.
    expect(liveResources.filter((resource) => !existsSync(resource.path))).toEqual([]);
    expect(await leasesOwnedBy(process.pid)).not.toEqual([]);
    expect(await liveSandbox.files.read('/workspace/live.txt')).toBe('still here');
    expect((await liveSandbox.runCode('print(6 * 7)', { language: 'python' })).stdout).toBe('42\n');
    await liveSandbox.kill();
  });
});
