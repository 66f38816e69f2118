import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { delegatedCgroupLayout, delegationCommand } from '../src/isolation/cgroup-delegation.js';
import { detectCgroupLayout, missingCgroupFeatures } from '../src/isolation/cgroups.js';

/**
 * Finding the cgroups delegated to a user, and the command printed when there are none, on this
 * host's real cgroup hierarchies. The uid used here owns nothing on the host.
 */

const run = promisify(execFile);
const UID = 1_899_999_123;
const made: string[] = [];

afterAll(async () => {
  for (const directory of made.reverse()) await rmdir(directory).catch(() => undefined);
});

describe('cgroup delegation for a server without root', () => {
  it('names the command that delegates cgroups, and that command makes them usable', async () => {
    const layout = await detectCgroupLayout();
    if (!layout) throw new Error('This host mounts no cgroup hierarchy.');
    const before = await delegatedCgroupLayout(layout, UID);
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

    const after = await delegatedCgroupLayout(layout, UID);
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
