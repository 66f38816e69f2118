import { describe, expect, it } from 'vitest';
import { slowCgroupJoinWarning } from '../src/isolation/cgroups.js';

describe('slowCgroupJoinWarning', () => {
  const v1 = 'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n';

  it('names the cgroup2 mount without favordynmods and the remount that keeps its options', () => {
    const warning = slowCgroupJoinWarning(
      `${v1}cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,relatime,nsdelegate 0 0\n`,
    );
    expect(warning).toContain('The cgroup2 mount /sys/fs/cgroup/unified lacks the favordynmods option');
    expect(warning).toContain(
      'mount -o remount,rw,nosuid,nodev,relatime,nsdelegate,favordynmods /sys/fs/cgroup/unified',
    );
  });

  it('says nothing when the option is set or there is no cgroup2 mount', () => {
    expect(
      slowCgroupJoinWarning(`${v1}cgroup2 /sys/fs/cgroup cgroup2 rw,relatime,favordynmods 0 0\n`),
    ).toBeNull();
    expect(slowCgroupJoinWarning(v1)).toBeNull();
  });
});
