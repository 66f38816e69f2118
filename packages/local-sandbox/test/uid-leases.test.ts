import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UidLeases } from '../src/isolation/uid-leases.js';

/** A range of one uid, so that every lease is for the same one. */
const UID = 1_899_999_100;

let root: string;
let leases: UidLeases;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hopgen-uid-leases-'));
  leases = new UidLeases({ directory: path.join(root, 'leases'), base: UID, count: 1 });
  await leases.open();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync('/bin/true').pid!;
}

describe('UidLeases', () => {
  it('leases a uid with its owner in place, and nothing else in the directory', async () => {
    expect(await leases.acquire()).toBe(UID);
    expect(await readdir(path.join(root, 'leases'))).toEqual([String(UID)]);
    expect(await readFile(path.join(root, 'leases', String(UID)), 'utf8')).toBe(String(process.pid));
  });

  it("takes over a dead server's lease, and leaves a live one and one still being written", async () => {
    const file = path.join(root, 'leases', String(UID));
    await writeFile(file, String(process.ppid));
    await expect(leases.acquire()).rejects.toThrow(/No free sandbox uid/);
    // Empty: an older server created it and has not written its pid yet.
    await writeFile(file, '');
    await expect(leases.acquire()).rejects.toThrow(/No free sandbox uid/);
    await writeFile(file, String(deadPid()));
    expect(await leases.acquire()).toBe(UID);
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    expect(await readdir(path.join(root, 'leases'))).toEqual([String(UID)]);
  });
});
