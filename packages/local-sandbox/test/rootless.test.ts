import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Rootless mode end to end. As root, this test makes an ordinary user, delegates cgroups to it with
 * the set-up script's step (`scripts/delegate-cgroups.sh`), and runs the attack suites, the file-route
 * attacks and the cross-sandbox attacks as that user: a vitest of their own, whose in-process servers
 * are therefore rootless. The limits (memory, pids, timeout, workspace size) are among those attacks.
 * The user's launcher joins its delegated cgroup v2 first, as a session inside systemd's
 * `user@UID.service` is; the mode without it is covered by the zygote's subreaper (see zygote.py).
 */

const run = promisify(execFile);
const USER = 'hopgen-rootless';
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const SUITES = ['attacks.test.ts', 'server-attacks.test.ts', 'cross-sandbox.test.ts'].map(
  (name) => `packages/local-sandbox/test/${name}`,
);

/** Creates the test user once (no home, no login shell); returns its uid and gid. */
async function ensureUser(): Promise<{ uid: number; gid: number }> {
  const exists = await run('id', ['-u', USER]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  }
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', USER]),
    run('id', ['-g', USER]),
  ]);
  return { uid: Number(uid), gid: Number(gid) };
}

async function sandboxCgroupsIn(directory: string): Promise<string[]> {
  return (await readdir(directory).catch(() => [] as string[])).filter((name) => /^hopgen-\d+-/.test(name));
}

describe('rootless mode', () => {
  it('runs the attack suites as an ordinary user with delegated cgroups, limits included', async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test makes a user and delegates cgroups to it: run the test command as root.');
    }
    const user = await ensureUser();
    await run('bash', [path.join(REPOSITORY_ROOT, 'scripts/delegate-cgroups.sh'), USER]);
    const delegated = ['memory', 'pids', 'cpu', 'freezer', 'unified']
      .map((name) => `/sys/fs/cgroup/${name}/hopgen-delegate-${user.uid}`)
      .filter((directory) => existsSync(directory));
    expect(delegated.length).toBeGreaterThanOrEqual(3);
    const unified = delegated.find((directory) => directory.includes('/unified/'));

    const home = await mkdtemp(path.join(tmpdir(), 'hopgen-rootless-home-'));
    await chown(home, user.uid, user.gid);
    // The checkout may sit below a directory the user cannot enter (CI clones under /root): the
    // user's vitest then sees it through a bind mount in a mount namespace of its own.
    const view = await mkdtemp(path.join('/tmp', 'hopgen-rootless-repository-'));
    await chmod(view, 0o755);
    try {
      const vitest = [
        'exec setpriv --reuid "$2" --regid "$3" --clear-groups --',
        'env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$4" HOPGEN_ALLOW_UNLIMITED_SANDBOXES=0',
        `"${process.execPath}" node_modules/vitest/vitest.mjs run --configLoader runner ${SUITES.join(' ')}`,
      ].join(' ');
      const script = [
        'set -e',
        // Like a login session in systemd's delegated user@UID.service: v2 moves need a common ancestor the user owns.
        unified ? `echo $$ > ${unified}/cgroup.procs` : 'true',
        'mount --bind "$1" "$5"',
        'cd "$5"',
        vitest,
      ].join('\n');
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'bash',
          '-c',
          script,
          'rootless-vitest',
          REPOSITORY_ROOT,
          String(user.uid),
          String(user.gid),
          home,
          view,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      // The sandboxes of the user's servers appear in the delegated cgroups while the suites run.
      const seen = new Set<string>();
      const watcher = setInterval(() => {
        for (const directory of delegated) {
          void sandboxCgroupsIn(directory).then((names) => {
            if (names.length > 0) seen.add(directory);
          });
        }
      }, 200);
      const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearInterval(watcher);
      if (exitCode !== 0) console.error(output);
      expect(exitCode).toBe(0);
      expect(output).toMatch(/Test Files {2}3 passed \(3\)/);
      expect(output).not.toMatch(/\d+ failed/);
      for (const directory of delegated) expect(seen).toContain(directory);
      // Every server closed: nothing is left in the delegated cgroups. vitest may exit while a worker
      // still closes its server, so wait for the last one to finish (bounded).
      const deadline = Date.now() + 30_000;
      let left = (await Promise.all(delegated.map(sandboxCgroupsIn))).flat();
      while (left.length > 0 && Date.now() < deadline) {
        await delay(200);
        left = (await Promise.all(delegated.map(sandboxCgroupsIn))).flat();
      }
      expect(left).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
      // rmdir, never a recursive delete: the checkout was bound here (in another mount namespace).
      await rmdir(view);
    }
  }, 600_000);
});
