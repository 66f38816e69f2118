import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { detectCgroupLayout } from '../src/isolation/cgroups.js';

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
/** A user that never keeps a delegation (the refusal test makes and removes it). */
const UNDELEGATED_USER = 'hopgen-undelegated';
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const SUITES = [
  'attacks.test.ts',
  'server-attacks.test.ts',
  'cross-sandbox.test.ts',
  'fork-server.test.ts',
].map((name) => `packages/local-sandbox/test/${name}`);

/** Creates a test user once (no home, no login shell); returns its uid and gid. */
async function ensureUser(name = USER): Promise<{ uid: number; gid: number }> {
  const exists = await run('id', ['-u', name]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  }
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', name]),
    run('id', ['-g', name]),
  ]);
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Runs `command` (a shell line, from the checkout's root) as `user` with a clean environment, in a
 * mount namespace where the checkout is bound at `view` (it may sit below a directory the user
 * cannot enter: CI clones under /root). Returns the child and its output so far.
 */
function spawnAsUser(
  user: { uid: number; gid: number },
  home: string,
  view: string,
  command: string,
  prelude = 'true',
): { child: ChildProcess; output: () => string } {
  const script = [
    'set -e',
    prelude,
    'mount --bind "$1" "$5"',
    'cd "$5"',
    `exec setpriv --reuid "$2" --regid "$3" --clear-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$4" ${command}`,
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
      'as-user',
      REPOSITORY_ROOT,
      String(user.uid),
      String(user.gid),
      home,
      view,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  return { child, output: () => output };
}

/** Resolves once the server run by `spawnAsUser` printed its address; rejects if it exits first. */
function untilStarted(
  server: { child: ChildProcess; output: () => string },
  exited: Promise<unknown>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.child.stdout!.on('data', () => {
      if (server.output().includes('HOPX_BASE_URL=')) resolve();
    });
    void exited.then(() => reject(new Error(`the server exited: ${server.output()}`)));
  });
}

/** A home for `user` and an empty directory to bind the checkout at; `remove()` deletes both. */
async function userDirectories(user: { uid: number; gid: number }) {
  const home = await mkdtemp(path.join(tmpdir(), 'hopgen-rootless-home-'));
  await chown(home, user.uid, user.gid);
  const view = await mkdtemp(path.join('/tmp', 'hopgen-rootless-repository-'));
  await chmod(view, 0o755);
  return {
    home,
    view,
    async remove() {
      await rm(home, { recursive: true, force: true });
      // rmdir, never a recursive delete: the checkout was bound here (in another mount namespace).
      await rmdir(view);
    },
  };
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

    const { home, view, remove } = await userDirectories(user);
    try {
      const { child, output } = spawnAsUser(
        user,
        home,
        view,
        `HOPGEN_ALLOW_UNLIMITED_SANDBOXES=0 "${process.execPath}" node_modules/vitest/vitest.mjs run --configLoader runner ${SUITES.join(' ')}`,
        // Like a login session in systemd's delegated user@UID.service: v2 moves need a common ancestor the user owns.
        unified ? `echo $$ > ${unified}/cgroup.procs` : 'true',
      );
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
      if (exitCode !== 0) console.error(output());
      expect(exitCode).toBe(0);
      expect(output()).toMatch(/Test Files {2}4 passed \(4\)/);
      expect(output()).not.toMatch(/\d+ failed/);
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
      await remove();
    }
  }, 600_000);

  it('without a delegated cgroup, refuses to start and names the command that delegates one', async () => {
    if (process.getuid?.() !== 0) throw new Error('This test makes a user: run the test command as root.');
    const layout = await detectCgroupLayout();
    if (!layout) throw new Error('This host mounts no cgroup hierarchy.');
    // A user of its own: hopgen-rootless keeps its delegation for the test above.
    const user = await ensureUser(UNDELEGATED_USER);
    const delegated = ['memory', 'pids', 'cpu', 'freezer', 'unified'].map(
      (name) => `/sys/fs/cgroup/${name}/hopgen-delegate-${user.uid}`,
    );
    for (const directory of delegated) await rmdir(directory).catch(() => undefined);
    const { home, view, remove } = await userDirectories(user);
    const server = `"${process.execPath}" --import tsx packages/local-sandbox/src/cli.ts --port 0 --isolation bubblewrap`;
    try {
      const refused = spawnAsUser(user, home, view, server);
      const exitCode = await new Promise<number | null>((resolve) => refused.child.once('exit', resolve));
      const message = refused.output();
      expect(exitCode, message).toBe(1);
      expect(message).toContain(
        'Sandbox limits cannot be enforced: the server does not run as root and no cgroup',
      );
      expect(message).toContain('`--allow-unlimited` to hopgen-sandbox');
      expect(message).not.toMatch(/run the server as root/i);
      if (layout.mode === 'v2') {
        expect(message).toContain(
          `To delegate cgroups to ${UNDELEGATED_USER}, start the server inside your systemd user manager`,
        );
        expect(message).toContain('`systemd-run --user --scope -p Delegate=yes <your command>`');
        return;
      }
      expect(message).toContain(
        `To delegate cgroups to ${UNDELEGATED_USER}, run once, as root: \`sudo bash scripts/delegate-cgroups.sh ${UNDELEGATED_USER}\``,
      );

      // The development escape runs it, and its banner says the same, not to run it as root.
      const unlimited = spawnAsUser(user, home, view, `${server} --allow-unlimited`);
      const unlimitedExit = new Promise<NodeJS.Signals | number | null>((resolve) =>
        unlimited.child.once('exit', (code, signal) => resolve(signal ?? code)),
      );
      await untilStarted(unlimited, unlimitedExit);
      expect(unlimited.output()).toContain('sandboxes run WITHOUT resource limits');
      expect(unlimited.output()).toContain(
        `For memory/pids/cpu/disk limits: To delegate cgroups to ${UNDELEGATED_USER}, run once, as root:`,
      );
      expect(unlimited.output()).not.toMatch(/run the server as root/i);
      unlimited.child.kill('SIGINT');
      expect(await unlimitedExit).toBe('SIGINT');

      // The inline form of the command, run as root the way an administrator pastes it, is enough:
      // the same user's server then starts, with limits.
      const inline = /`sudo sh -c '([^']+)'`/.exec(message)?.[1];
      expect(inline, message).toBeDefined();
      await run('sh', ['-c', inline!]);
      const started = spawnAsUser(user, home, view, server);
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        started.child.once('exit', (code, signal) => resolve(signal ?? code)),
      );
      await untilStarted(started, exited);
      expect(started.output()).not.toContain('WITHOUT resource limits');
      const instances = (await Promise.all(delegated.map(sandboxCgroupsIn))).flat();
      expect(instances.length).toBeGreaterThanOrEqual(3);
      // unshare, bash, setpriv and env each exec the next: the child is the server itself.
      // It closes (removing its cgroups), then dies of the signal as if it had not caught it.
      started.child.kill('SIGINT');
      expect(await exited).toBe('SIGINT');
      expect((await Promise.all(delegated.map(sandboxCgroupsIn))).flat()).toEqual([]);
    } finally {
      await remove();
      for (const directory of delegated) await rmdir(directory).catch(() => undefined);
    }
  }, 120_000);
});
