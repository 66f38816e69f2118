import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { delegatedCgroupLayout, delegationCommand } from '../src/isolation/cgroup-delegation.js';
import { type CgroupLayout, detectCgroupLayout, missingCgroupFeatures } from '../src/isolation/cgroups.js';

/**
 * Finding the cgroups delegated to a user, and the command printed when there are none, on this
 * host's real cgroup hierarchies. The uid used here owns nothing on the host.
 */

const run = promisify(execFile);
const UID = 1_899_999_123;
/** The user the decisions are made for: owns nothing on the host, in no group. */
const USER = { uid: UID, gids: [] };
const made: string[] = [];

const fakeRoots: string[] = [];

afterAll(async () => {
  for (const directory of made.reverse()) await rmdir(directory).catch(() => undefined);
  for (const directory of fakeRoots) await rm(directory, { recursive: true, force: true });
});

describe('cgroup delegation for a server without root', () => {
  it('names the command that delegates cgroups, and that command makes them usable', async () => {
    const layout = await detectCgroupLayout();
    if (!layout) throw new Error('This host mounts no cgroup hierarchy.');
    const before = await delegatedCgroupLayout(layout, USER);
    expect(missingCgroupFeatures(before)).toEqual(
      expect.arrayContaining(['no memory controller', 'no pids controller', 'no cpu controller']),
    );
    const command = delegationCommand(layout, { uid: UID, name: 'alice' });
    expect(command).toContain('`sudo bash scripts/delegate-cgroups.sh alice`');

    // The inline form, run as root the way an administrator would paste it.
    const inline = /`sudo sh -c '(.+)'`$/.exec(command)?.[1];
    expect(inline).toBeDefined();
    await run('sh', ['-c', inline!]);
    for (const hierarchy of [layout.memory, layout.pids, layout.cpu, layout.freezer, layout.unified]) {
      if (hierarchy) made.push(`${hierarchy.mountPoint}/hopgen-delegate-${UID}`);
    }
    expect(made.every((directory) => existsSync(directory))).toBe(true);

    const after = await delegatedCgroupLayout(layout, USER);
    if (layout.mode !== 'v2') {
      // v1 and hybrid hosts: every v1 controller is found at the top of its hierarchy, wherever
      // this process sits. (The v2 one counts only for a server inside it: v2 moves need a common
      // ancestor the user owns.)
      expect(after.memory?.ownDirectory).toBe(`${layout.memory!.mountPoint}/hopgen-delegate-${UID}`);
      expect(after.pids?.ownDirectory).toBe(`${layout.pids!.mountPoint}/hopgen-delegate-${UID}`);
      expect(after.cpu?.ownDirectory).toBe(`${layout.cpu!.mountPoint}/hopgen-delegate-${UID}`);
      expect(missingCgroupFeatures(after)).toEqual([]);
    }
  });
});

/**
 * A fake host for the decisions alone: a mount table and a /proc/self/cgroup as text, and cgroup
 * directories made of plain folders (each with a `cgroup.procs` file) owned as systemd or the set-up
 * script would own them. Needed because this host is cgroup v1/hybrid: its memory, pids and cpu
 * controllers are bound to v1 hierarchies, so no cgroup v2 hierarchy here can ever offer them.
 */
interface FakeHost {
  mountPoint: string;
  sources: (membership: string) => Parameters<typeof detectCgroupLayout>[0];
}

const V2_LINE = (mountPoint: string) =>
  `30 24 0:26 / ${mountPoint} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate`;
const V1_LINE = (mountPoint: string, controller: string) =>
  `31 24 0:27 / ${mountPoint}/${controller} rw,relatime shared:5 - cgroup cgroup rw,${controller}`;

/** Makes the fake cgroup folders: each `[relative path, owner uid]`, parents first. */
async function fakeHost(
  mode: 'v2' | 'hybrid',
  folders: [string, number][],
  v2Controllers = 'cpuset cpu io memory pids',
): Promise<FakeHost> {
  const root = await mkdtemp(path.join(tmpdir(), 'hopgen-fake-cgroup-'));
  fakeRoots.push(root);
  const mountPoint = path.join(root, 'cgroup');
  for (const [relative, owner] of folders) {
    const directory = path.join(mountPoint, relative);
    await mkdir(directory, { recursive: true });
    await writeFile(path.join(directory, 'cgroup.procs'), '');
    await chown(directory, owner, owner);
    await chown(path.join(directory, 'cgroup.procs'), owner, owner);
  }
  const mountInfo =
    mode === 'v2'
      ? V2_LINE(mountPoint)
      : [
          ...['memory', 'pids', 'cpu', 'freezer'].map((controller) => V1_LINE(mountPoint, controller)),
          V2_LINE(`${mountPoint}/unified`),
        ].join('\n');
  return {
    mountPoint,
    sources: (membership) => ({
      mountInfo,
      membership,
      v2Controllers: async () => (mode === 'v2' ? v2Controllers : ''),
    }),
  };
}

const USER_SERVICE = `user.slice/user-${UID}.slice/user@${UID}.service`;
/** A pure v2 host as systemd sets it up: root owns the slices, the user owns `user@UID.service` and below. */
const SYSTEMD_FOLDERS: [string, number][] = [
  ['', 0],
  ['user.slice', 0],
  [`user.slice/user-${UID}.slice`, 0],
  [USER_SERVICE, UID],
  [`${USER_SERVICE}/app.slice`, UID],
  [`${USER_SERVICE}/app.slice/hopgen.scope`, UID],
  ['system.slice', 0],
  ['system.slice/hopgen.service', 0],
];

async function layoutOn(host: FakeHost, membership: string): Promise<CgroupLayout> {
  const layout = await detectCgroupLayout(host.sources(membership));
  if (!layout) throw new Error('the fake host mounts no cgroup hierarchy');
  return layout;
}

describe('cgroup v2 delegation decisions, on a fake systemd host', () => {
  it("picks the user's delegated user@UID.service, the highest cgroup above the server that the user owns", async () => {
    const host = await fakeHost('v2', SYSTEMD_FOLDERS);
    const layout = await layoutOn(host, `0::/${USER_SERVICE}/app.slice/hopgen.scope\n`);
    expect(layout.mode).toBe('v2');
    // As root the server would use the top of the hierarchy (the root is exempt from v2's
    // no-processes-in-inner-cgroups rule).
    expect(layout.unified?.ownDirectory).toBe(host.mountPoint);
    expect(layout.unified?.processDirectory).toBe(
      `${host.mountPoint}/${USER_SERVICE}/app.slice/hopgen.scope`,
    );

    const delegated = await delegatedCgroupLayout(layout, USER);
    const expected = `${host.mountPoint}/${USER_SERVICE}`;
    for (const hierarchy of [delegated.memory, delegated.pids, delegated.cpu, delegated.unified])
      expect(hierarchy?.ownDirectory).toBe(expected);
    expect(delegated.freezer).toBeNull();
    expect(missingCgroupFeatures(delegated)).toEqual([]);
  });

  it('skips cgroups in between that the user may not write: the kernel checks only the common ancestor', async () => {
    // systemd's app.slice left to root: moving a process from hopgen.scope into a cgroup made under
    // user@UID.service needs write access to user@UID.service's cgroup.procs (the common ancestor)
    // and to the destination's, never to app.slice's.
    const folders = SYSTEMD_FOLDERS.map(([relative, owner]): [string, number] => [
      relative,
      relative === `${USER_SERVICE}/app.slice` ? 0 : owner,
    ]);
    const host = await fakeHost('v2', folders);
    const delegated = await delegatedCgroupLayout(
      await layoutOn(host, `0::/${USER_SERVICE}/app.slice/hopgen.scope\n`),
      USER,
    );
    expect(delegated.unified?.ownDirectory).toBe(`${host.mountPoint}/${USER_SERVICE}`);
  });

  it('counts write access through a group, and needs cgroup.procs writable, not ownership', async () => {
    const GROUP = 1_899_999_777;
    const host = await fakeHost('v2', SYSTEMD_FOLDERS);
    // user@UID.service handed to a group the user is in (root-owned, group-writable), and the
    // user's own app.slice with a cgroup.procs it may not write.
    const service = `${host.mountPoint}/${USER_SERVICE}`;
    for (const file of [service, `${service}/cgroup.procs`]) await chown(file, 0, GROUP);
    await chmod(service, 0o775);
    await chmod(`${service}/cgroup.procs`, 0o664);
    await chmod(`${service}/app.slice/cgroup.procs`, 0o444);
    const layout = await layoutOn(host, `0::/${USER_SERVICE}/app.slice/hopgen.scope\n`);

    const member = await delegatedCgroupLayout(layout, { uid: UID, gids: [GROUP] });
    expect(member.unified?.ownDirectory).toBe(service);
    // Not in the group: only the scope is left (app.slice's cgroup.procs is read-only).
    const stranger = await delegatedCgroupLayout(layout, USER);
    expect(stranger.unified?.ownDirectory).toBe(`${service}/app.slice/hopgen.scope`);
    // The group's bits do not apply to the owner: a user-owned directory with only group write is not writable.
    await chown(service, UID, GROUP);
    await chmod(service, 0o575);
    const owner = await delegatedCgroupLayout(layout, { uid: UID, gids: [GROUP] });
    expect(owner.unified?.ownDirectory).toBe(`${service}/app.slice/hopgen.scope`);
  });

  it('finds nothing for a server outside its delegated subtree, and names the systemd-run command', async () => {
    const host = await fakeHost('v2', SYSTEMD_FOLDERS);
    const layout = await layoutOn(host, '0::/system.slice/hopgen.service\n');
    const delegated = await delegatedCgroupLayout(layout, USER);
    expect(delegated.unified).toBeNull();
    expect(missingCgroupFeatures(delegated)).toEqual([
      'no memory controller',
      'no pids controller',
      'no cpu controller',
      'neither a cgroup v2 hierarchy nor the v1 freezer',
    ]);
    const command = delegationCommand(layout, { uid: UID, name: 'alice' });
    expect(command).toContain('`systemd-run --user --scope -p Delegate=yes <your command>`');
    expect(command).toContain('`Delegate=cpu cpuset io memory pids`');
    expect(command).toContain('/etc/systemd/system/user@.service.d/delegate.conf');
  });

  it('reports each controller the v2 hierarchy does not offer, even inside the delegated subtree', async () => {
    const host = await fakeHost('v2', SYSTEMD_FOLDERS, 'cpu io');
    const delegated = await delegatedCgroupLayout(
      await layoutOn(host, `0::/${USER_SERVICE}/app.slice/hopgen.scope\n`),
      USER,
    );
    expect(delegated.cpu?.ownDirectory).toBe(`${host.mountPoint}/${USER_SERVICE}`);
    expect(missingCgroupFeatures(delegated)).toEqual(['no memory controller', 'no pids controller']);
  });

  it('on a hybrid host finds the v1 cgroups the set-up script delegated, wherever the server sits', async () => {
    const name = `hopgen-delegate-${UID}`;
    const folders: [string, number][] = ['memory', 'pids', 'cpu', 'freezer', 'unified'].flatMap(
      (controller): [string, number][] => [
        [controller, 0],
        [`${controller}/system.slice`, 0],
        [`${controller}/system.slice/hopgen.service`, 0],
        [`${controller}/${name}`, controller === 'cpu' ? 0 : UID],
      ],
    );
    const host = await fakeHost('hybrid', folders);
    const membership = [
      '8:pids:/system.slice/hopgen.service',
      '6:freezer:/system.slice/hopgen.service',
      '4:memory:/system.slice/hopgen.service',
      '1:cpu:/system.slice/hopgen.service',
      '0::/system.slice/hopgen.service',
    ].join('\n');
    const layout = await layoutOn(host, membership);
    expect(layout.mode).toBe('hybrid');
    const delegated = await delegatedCgroupLayout(layout, USER);
    expect(delegated.memory?.ownDirectory).toBe(`${host.mountPoint}/memory/${name}`);
    expect(delegated.pids?.ownDirectory).toBe(`${host.mountPoint}/pids/${name}`);
    expect(delegated.freezer?.ownDirectory).toBe(`${host.mountPoint}/freezer/${name}`);
    // The v2 cgroup counts only for a server inside it; cpu's was left to root here.
    expect(delegated.unified).toBeNull();
    expect(missingCgroupFeatures(delegated)).toEqual(['no cpu controller']);
    const command = delegationCommand(layout, { uid: UID, name: 'alice' });
    expect(command).toContain('`sudo bash scripts/delegate-cgroups.sh alice`');
    for (const controller of ['memory', 'pids', 'cpu', 'freezer', 'unified'])
      expect(command).toContain(`${host.mountPoint}/${controller}`);
  });
});
