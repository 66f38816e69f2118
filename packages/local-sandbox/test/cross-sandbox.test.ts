import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Attacks on another sandbox of the same server. As root, distinct host uids stop them too; in
 * rootless mode every sandbox runs as the server's own uid, so only the namespaces (pid, mount,
 * user), the per-sandbox cgroups and tmpfs, and seccomp stand in between. The rootless test runs
 * this file as an ordinary user.
 */

const SECRET = `cross-sandbox-secret-${process.pid}-${Date.now()}`;
let server: LocalSandboxServer;
let attacker: Sandbox;
let victim: Sandbox;

beforeAll(async () => {
  server = await startLocalSandboxServer({ isolation: 'bubblewrap' });
  const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
  [attacker, victim] = await Promise.all([Sandbox.create(options), Sandbox.create(options)]);
  await victim.files.write('/workspace/victim-private.txt', SECRET);
  // Held in the victim's interpreter and on a process's command line and environment.
  await victim.runIpython(
    `import subprocess, os\nsecret = ${JSON.stringify(SECRET)}\nholder = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(3600)", ${JSON.stringify(SECRET)}], env={"SECRET": ${JSON.stringify(SECRET)}})`,
    { timeout: 30 },
  );
});

afterAll(async () => {
  await attacker?.kill().catch(() => undefined);
  await victim?.kill().catch(() => undefined);
  await server?.close();
});

describe("attacks on another sandbox's processes, files and /proc", () => {
  it("sees none of another sandbox's processes in /proc, by command line, environment, memory or root", async () => {
    const scan = [
      'import os',
      'pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]',
      'print("processes", len(pids))',
      'for pid in pids:',
      '    for what in ["cmdline", "environ"]:',
      '        try:',
      `            if ${JSON.stringify(SECRET)}.encode() in open("/proc/%d/%s" % (pid, what), "rb").read(): print("FOUND", what)`,
      '        except OSError:',
      '            pass',
      '    try:',
      '        print("root of", pid, sorted(os.listdir("/proc/%d/root/workspace" % pid)))',
      '    except OSError:',
      '        pass',
    ].join('\n');
    // The same scan inside the victim finds its own secrets: the scan can see what it looks for.
    const control = await victim.runCode(scan, { language: 'python', timeout: 30 });
    expect(control.stdout).toContain('FOUND cmdline');
    expect(control.stdout).toContain('victim-private.txt');
    const outcome = await attacker.runCode(scan, { language: 'python', timeout: 30 });
    expect(outcome.stdout).not.toContain('FOUND');
    expect(outcome.stdout).not.toContain('victim-private.txt');
    // The attacker's own sandbox: bwrap's init, the zygote, this run and little else.
    expect(Number(/processes (\d+)/.exec(outcome.stdout ?? '')?.[1])).toBeLessThan(10);
  });

  it('shows no host path, server pid or cgroup path in /proc/self/mountinfo, /proc/1/cmdline, /proc/self/cgroup and environ', async () => {
    const outcome = await attacker.runCode(
      [
        'print(open("/proc/1/cmdline").read().replace("\\0", " "))',
        'print(open("/proc/self/cgroup").read())',
        'try:',
        '    print(open("/proc/1/environ").read().replace("\\0", " "))',
        'except OSError as error:',
        '    print("environ", error.strerror)',
        'print("mountinfo")',
        'print(open("/proc/self/mountinfo").read())',
      ].join('\n'),
      { language: 'python', timeout: 30 },
    );
    const text = outcome.stdout ?? '';
    const [processes = '', mountInfo = ''] = text.split('mountinfo\n');
    expect(processes).toContain('bwrap --args');
    expect(processes).not.toContain(`${process.pid}`);
    expect(processes).not.toContain('--bind');
    expect(processes).not.toContain('--setenv');
    // Bind mounts show their path within their file system: every one is a tmpfs root or /usr.
    const mountRoots = mountInfo
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[3]);
    expect(mountRoots.length).toBeGreaterThan(5);
    expect(
      mountRoots.filter(
        (root) => !/^\/(newroot|usr|etc|runtime|null|zero|full|random|urandom|tty)?$/.test(root!),
      ),
    ).toEqual([]);
    for (const part of [processes, mountInfo]) {
      expect(part).not.toContain('hopgen-sandboxes');
      expect(part).not.toContain('hopgen-delegate');
      expect(part).not.toMatch(/hopgen-\d+-/);
      expect(part).not.toContain('/tmp/');
      expect(part).not.toContain(`-${process.pid}-`);
    }
  });

  it('signals no process of another sandbox, even with kill(-1) and every pid up to 65535', async () => {
    const outcome = await attacker.runCode(
      [
        'import os',
        'sent = 0',
        'for pid in range(2, 65536):',
        '    if pid == os.getpid(): continue',
        '    try:',
        '        os.kill(pid, 0); sent += 1',
        '    except OSError:',
        '        pass',
        'print("signalable", sent)',
      ].join('\n'),
      { language: 'python', timeout: 30 },
    );
    expect(Number(/signalable (\d+)/.exec(outcome.stdout ?? '')?.[1])).toBeLessThan(10);
    // kill(-1) reaches every process the caller may signal: the attacker's own sandbox dies with it.
    await attacker
      .runCode('import os, signal\nif os.fork() == 0:\n    os.kill(-1, signal.SIGKILL)\nos.wait()', {
        language: 'python',
        timeout: 30,
      })
      .catch(() => undefined);
    const after = await victim.runIpython(`print(secret == ${JSON.stringify(SECRET)}, holder.poll())`, {
      timeout: 30,
    });
    // The victim's interpreter kept its state and its background process lives.
    expect(after.stdout).toBe('True None\n');
    expect(await victim.files.read('/workspace/victim-private.txt')).toBe(SECRET);
  });
});
