import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MountHelper } from '../src/isolation/mount-helper.js';

/** Lines of the host mount table whose mount point is `target`. */
async function mountsAt(target: string): Promise<string[]> {
  return (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .filter((line) => line.split(' ')[1] === target);
}

// The tests run as root (AGENTS.md: the machine runs as root), which the helper needs to mount.
describe('MountHelper', () => {
  let root: string;
  const helper = new MountHelper('/usr/bin/python3');

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'hopgen-mount-helper-'));
  });
  afterAll(async () => {
    helper.close();
    await rm(root, { recursive: true, force: true });
  });

  it('mounts a size-capped nosuid,nodev tmpfs owned as asked, and unmounts it lazily', async () => {
    const target = path.join(root, 'workspace');
    await mkdir(target);
    await helper.mountTmpfs(target, 'size=1048576,mode=0700,uid=4242,gid=4243');
    const [line] = await mountsAt(target);
    expect(line).toMatch(/^hopgen-sandbox \S+ tmpfs \S*nosuid,nodev\S*size=1024k,mode=700,uid=4242,gid=4243/);
    expect((await stat(target)).uid).toBe(4242);
    // The cap holds: 2 MiB do not fit in a 1 MiB tmpfs.
    await expect(writeFile(path.join(target, 'big'), Buffer.alloc(2 * 1024 * 1024))).rejects.toThrow(
      /ENOSPC/,
    );
    await helper.unmountLazily(target);
    expect(await mountsAt(target)).toEqual([]);
  });

  it('rejects with the system error and the path when a call fails, and keeps serving', async () => {
    const missing = path.join(root, 'missing');
    await expect(helper.mountTmpfs(missing, 'size=1048576')).rejects.toThrow(
      `mount ${missing}: No such file or directory`,
    );
    await expect(helper.unmountLazily(path.join(root, 'not-mounted'))).rejects.toThrow(
      /umount .*not-mounted/,
    );
    const target = path.join(root, 'after-failures');
    await mkdir(target);
    await helper.mountTmpfs(target, 'size=1048576');
    expect(await mountsAt(target)).toHaveLength(1);
    await helper.unmountLazily(target);
  });

  it('starts again after it is closed', async () => {
    helper.close();
    const target = path.join(root, 'after-close');
    await mkdir(target);
    await helper.mountTmpfs(target, 'size=1048576');
    expect(await mountsAt(target)).toHaveLength(1);
    await helper.unmountLazily(target);
    expect(await mountsAt(target)).toEqual([]);
  });
});
