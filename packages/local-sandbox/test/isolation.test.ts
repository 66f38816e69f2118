import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreflightError, SandboxDestroyedError } from '../src/errors.js';
import { BubblewrapBackend, NoneBackend } from '../src/isolation/index.js';
import type { IsolatedSandbox, SandboxLimits } from '../src/isolation/types.js';
import {
  hostPidsOwnedBy,
  hostPidsWithCommandLine,
  runInSandbox,
  runPython,
} from './support/sandbox-process.js';

const MiB = 1024 * 1024;
const LIMITS: SandboxLimits = {
  memoryBytes: 256 * MiB,
  pids: 64,
  cpus: 1,
  tmpBytes: 16 * MiB,
  workspaceBytes: 32 * MiB,
};
const SECRET = `isolation-secret-${process.pid}`;

let backend: BubblewrapBackend;
let sandbox: IsolatedSandbox;
let sandboxCount = 0;

async function newSandbox(
  limits: Partial<SandboxLimits> = {},
  internetAccess = false,
): Promise<IsolatedSandbox> {
  return backend.create({ id: `iso-${++sandboxCount}`, limits: { ...LIMITS, ...limits }, internetAccess });
}

beforeAll(async () => {
  process.env.HOPGEN_TEST_SECRET = SECRET;
  backend = new BubblewrapBackend({ warn: () => undefined });
  await backend.preflight();
  sandbox = await newSandbox();
});

afterAll(async () => {
  await backend?.close();
  delete process.env.HOPGEN_TEST_SECRET;
});

describe('bubblewrap backend', () => {
  it('runs as uid 1000 without capabilities and with only the environment it was given', async () => {
    const result = await runPython(
      sandbox,
      [
        'import json, os, socket',
        'status = open("/proc/self/status").read()',
        'caps = [l for l in status.splitlines() if l.startswith("CapEff")]',
        'print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "env": dict(os.environ), "caps": caps, "host": socket.gethostname()}))',
      ].join('\n'),
      { env: { GIVEN: 'yes' } },
    );
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report.uid).toBe(1000);
    expect(report.gid).toBe(1000);
    expect(report.caps).toEqual(['CapEff:\t0000000000000000']);
    expect(report.host).toBe('sandbox');
    expect(result.stdout).not.toContain(SECRET);
    expect(Object.keys(report.env).sort()).toEqual(
      ['GIVEN', 'HOME', 'LANG', 'MPLBACKEND', 'MPLCONFIGDIR', 'PATH', 'PWD'].sort(),
    );
    expect(report.env.GIVEN).toBe('yes');
    // The host side runs as a dedicated uid per sandbox, never root.
    expect(sandbox.owner?.uid).toBeGreaterThan(0);
  });

  it('keeps files between spawns in a workspace the host reads and writes at workspaceDir', async () => {
    await runPython(sandbox, 'open("/workspace/from-sandbox.txt", "w").write("written inside")');
    expect(await readFile(path.join(sandbox.workspaceDir, 'from-sandbox.txt'), 'utf8')).toBe(
      'written inside',
    );
    expect((await stat(path.join(sandbox.workspaceDir, 'from-sandbox.txt'))).uid).toBe(sandbox.owner!.uid);

    const hostFile = path.join(sandbox.workspaceDir, 'from-host.txt');
    await writeFile(hostFile, 'written by the host;');
    await chown(hostFile, sandbox.owner!.uid, sandbox.owner!.gid);
    const result = await runPython(
      sandbox,
      'f = open("from-host.txt", "a"); f.write(" appended"); f.close(); print(open("from-host.txt").read()); print(open("from-sandbox.txt").read())',
    );
    expect(result.stdout).toBe('written by the host; appended\nwritten inside\n');
  });

  it('makes only /workspace and /tmp writable and hides the host file system', async () => {
    const thisFile = fileURLToPath(import.meta.url);
    const result = await runPython(
      sandbox,
      [
        'import os',
        `for p in ["/x", "/usr/x", "/etc/x", "/opt/hopgen/x", "/dev/x", "/proc/x", "/workspace/x", "/tmp/x"]:`,
        '    try:',
        '        open(p, "w").write("x"); print(p, "ok")',
        '    except OSError as e:',
        '        print(p, e.strerror)',
        `for p in ["/etc/shadow", "/root", "/home", ${JSON.stringify(thisFile)}, "/sys/kernel", "/sys/fs/cgroup/memory"]:`,
        '    print(p, os.path.exists(p))',
      ].join('\n'),
    );
    expect(result.stdout.split('\n')).toEqual([
      '/x Read-only file system',
      '/usr/x Read-only file system',
      '/etc/x Read-only file system',
      '/opt/hopgen/x Read-only file system',
      '/dev/x Read-only file system',
      expect.stringMatching(/^\/proc\/x (No such file or directory|Permission denied)$/),
      '/workspace/x ok',
      '/tmp/x ok',
      '/etc/shadow False',
      '/root False',
      '/home False',
      `${thisFile} False`,
      '/sys/kernel False',
      '/sys/fs/cgroup/memory False',
      '',
    ]);
  });

  it('gives the host copies of /tmp and /workspace to the sandbox uid alone (0700)', async () => {
    for (const name of ['tmp', 'workspace']) {
      const info = await stat(path.join(path.dirname(sandbox.workspaceDir), name));
      expect({ name, mode: (info.mode & 0o7777).toString(8), uid: info.uid }).toEqual({
        name,
        mode: '700',
        uid: sandbox.owner!.uid,
      });
    }
    const inside = await runPython(
      sandbox,
      'import os; s = os.stat("/tmp"); print(oct(s.st_mode & 0o7777), s.st_uid)',
    );
    expect(inside.stdout).toBe('0o700 1000\n');
  });

  it('caps /tmp and /workspace: filling them ends in ENOSPC', async () => {
    const fill = (target: string) =>
      [
        'import errno',
        'written = 0',
        'try:',
        `    with open(${JSON.stringify(target)}, "wb") as f:`,
        '        while written < 1024 * 1024 * 1024:',
        '            f.write(b"x" * 1048576); f.flush(); written += 1048576',
        'except OSError as e:',
        '    print(errno.errorcode[e.errno], written // 1048576)',
      ].join('\n');
    const tmp = await runPython(sandbox, fill('/tmp/fill'));
    const workspace = await runPython(sandbox, fill('/workspace/fill'));
    const [tmpError, tmpMiB] = tmp.stdout.trim().split(' ');
    const [workspaceError, workspaceMiB] = workspace.stdout.trim().split(' ');
    expect(tmpError).toBe('ENOSPC');
    expect(Number(tmpMiB)).toBeLessThanOrEqual(16);
    expect(workspaceError).toBe('ENOSPC');
    expect(Number(workspaceMiB)).toBeLessThanOrEqual(32);
    await runInSandbox(sandbox, '/bin/rm', ['-f', '/tmp/fill', '/workspace/fill']);
  });

  it('has no network: a port on the host 127.0.0.1 is unreachable, but reachable with internet access', async () => {
    const server = net.createServer((socket) => socket.end('hello from the host'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const connect = [
      'import socket',
      'try:',
      `    s = socket.create_connection(("127.0.0.1", ${port}), timeout=3)`,
      '    print("connected", s.recv(100).decode())',
      'except OSError as e:',
      '    print("failed", type(e).__name__)',
      'print(sorted(name for _, name in socket.if_nameindex()))',
    ].join('\n');
    try {
      const isolated = await runPython(sandbox, connect);
      expect(isolated.stdout).toBe("failed ConnectionRefusedError\n['lo']\n");

      const online = await newSandbox({}, true);
      const shared = await runPython(online, connect);
      expect(shared.stdout.split('\n')[0]).toBe('connected hello from the host');
      await online.destroy();
    } finally {
      server.close();
    }
  });

  it('kills a process that allocates more than the memory limit', async () => {
    const limited = await newSandbox({ memoryBytes: 128 * MiB });
    try {
      const result = await runPython(
        limited,
        [
          'import sys',
          'chunks = []',
          'for i in range(64):',
          '    chunks.append(bytearray(16 * 1024 * 1024))',
          '    print((i + 1) * 16, flush=True)',
        ].join('\n'),
      );
      const reached = Number(result.stdout.trim().split('\n').at(-1));
      expect(result.exitCode === 137 || result.signal === 'SIGKILL').toBe(true);
      expect(reached).toBeLessThan(128);
      expect(await limited.memoryUsageBytes()).toBeLessThan(128 * MiB);
    } finally {
      await limited.destroy();
    }
  });

  it('reports the memory the sandbox uses', async () => {
    const child = sandbox.spawn('/usr/bin/python3', [
      '-c',
      'b = bytearray(64 * 1024 * 1024); b[::4096] = b"x" * len(b[::4096]); print("ready", flush=True); import time; time.sleep(30)',
    ]);
    const ready = once(child.stdout!, 'data');
    await ready;
    expect(await sandbox.memoryUsageBytes()).toBeGreaterThan(64 * MiB);
    child.kill('SIGKILL');
    await once(child, 'exit');
  });

  it('contains a fork bomb with the pids limit and kills all of it', async () => {
    const limited = await newSandbox({ pids: 32 });
    try {
      const counted = await runPython(
        limited,
        [
          'import os, errno, time',
          'children = 0',
          'try:',
          '    while children < 1000:',
          '        if os.fork() == 0:',
          '            time.sleep(30); os._exit(0)',
          '        children += 1',
          'except OSError as e:',
          '    print(children, errno.errorcode[e.errno], flush=True)',
          'os.killpg(0, 9)',
        ].join('\n'),
      );
      const [children, error] = counted.stdout.trim().split(' ');
      expect(error).toBe('EAGAIN');
      expect(Number(children)).toBeLessThan(32);

      const bomb = limited.spawn('/bin/bash', ['-c', 'bomb() { bomb | bomb & }; bomb; sleep 30'], {
        stdio: 'ignore',
      });
      const bombExited = once(bomb, 'exit');
      await delay(1500);
      const started = Date.now();
      await limited.killAll();
      expect(Date.now() - started).toBeLessThan(5000);
      await bombExited;
      expect(await hostPidsOwnedBy(limited.owner!.uid)).toEqual([]);
      expect((await runPython(limited, 'print("still usable")')).stdout).toBe('still usable\n');
    } finally {
      await limited.destroy();
    }
  });

  it('limits CPU time to the quota', async () => {
    const limited = await newSandbox({ cpus: 0.2 });
    try {
      const result = await runPython(
        limited,
        'import os, time\nend = time.time() + 1.5\nwhile time.time() < end: pass\nt = os.times()\nprint(t.user + t.system)',
      );
      expect(Number(result.stdout)).toBeLessThan(0.6);
    } finally {
      await limited.destroy();
    }
  });

  it('denies ptrace, unshare, mount and namespace clones with seccomp', async () => {
    const result = await runPython(
      sandbox,
      [
        'import ctypes, errno, os, subprocess, threading',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'def call(name, *args):',
        '    result = libc.syscall(*[ctypes.c_long(a) for a in args])',
        '    print(name, errno.errorcode.get(ctypes.get_errno()) if result == -1 else result)',
        'print([l for l in open("/proc/self/status").read().splitlines() if l.startswith("Seccomp:")][0])',
        'call("ptrace", 101, 16, 1, 0, 0)',
        'call("unshare", 272, 0x10000000)',
        'call("mount", 165, 0, 0, 0, 0, 0)',
        'call("clone-newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)',
        'call("clone3", 435, 0, 0)',
        'call("ioctl-tiocsti", 16, 0, 0x5412, 0)',
        'print(subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True).stderr.strip())',
        't = threading.Thread(target=lambda: print("threads work")); t.start(); t.join()',
      ].join('\n'),
    );
    expect(result.stdout.split('\n')).toEqual([
      'Seccomp:\t2',
      'ptrace EPERM',
      'unshare EPERM',
      'mount EPERM',
      'clone-newuser EPERM',
      'clone3 ENOSYS',
      'ioctl-tiocsti EPERM',
      'unshare: unshare failed: Operation not permitted',
      'threads work',
      '',
    ]);
  });

  it('allows only unix, IP and netlink-route sockets: vsock and packet sockets fail, x32 syscalls kill', async () => {
    const result = await runPython(
      sandbox,
      [
        'import ctypes, errno, socket, subprocess, sys',
        'def probe(name, make):',
        '    try:',
        '        make().close(); print(name, "ok")',
        '    except OSError as e:',
        '        print(name, errno.errorcode.get(e.errno))',
        'probe("vsock", lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM))',
        'probe("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))',
        'probe("netlink-audit", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9))',
        'probe("alg", lambda: socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET, 0))',
        // A family number above 2^32 must not wrap around to an allowed one.
        'libc = ctypes.CDLL(None, use_errno=True)',
        'r = libc.syscall(ctypes.c_long(41), ctypes.c_long((1 << 32) | 40), ctypes.c_long(1), ctypes.c_long(0))',
        'print("vsock-high-bits", errno.errorcode.get(ctypes.get_errno()) if r == -1 else "ok")',
        'r = libc.syscall(ctypes.c_long(53), ctypes.c_long(40), ctypes.c_long(1), ctypes.c_long(0), ctypes.c_void_p(0))',
        'print("socketpair-vsock", errno.errorcode.get(ctypes.get_errno()) if r == -1 else "ok")',
        'probe("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))',
        'probe("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))',
        'probe("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))',
        'probe("netlink-route", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))',
        'a, b = socket.socketpair(); a.close(); b.close(); print("socketpair-unix ok")',
        'print("interfaces", [name for _, name in socket.if_nameindex()])',
        // x32 getpid: the ABI bit is set, so the process is killed rather than served.
        'x32 = subprocess.run([sys.executable, "-c", "import ctypes; ctypes.CDLL(None).syscall(ctypes.c_long(0x40000000 | 39)); print(1)"], capture_output=True)',
        'print("x32", x32.returncode, x32.stdout)',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual([
      'vsock EAFNOSUPPORT',
      'packet EAFNOSUPPORT',
      'netlink-audit EPROTONOSUPPORT',
      'alg EAFNOSUPPORT',
      'vsock-high-bits EAFNOSUPPORT',
      'socketpair-vsock EAFNOSUPPORT',
      'unix ok',
      'inet ok',
      'inet6 ok',
      'netlink-route ok',
      'socketpair-unix ok',
      "interfaces ['lo']",
      "x32 -31 b''",
      '',
    ]);
  });

  it('still runs python with numpy, pandas and matplotlib, node and bash under the socket filter', async () => {
    const python = await runPython(
      sandbox,
      [
        'import numpy, pandas, matplotlib.pyplot as plt, socket, uuid',
        'frame = pandas.DataFrame({"a": numpy.arange(3)})',
        'plt.plot(frame["a"]); plt.savefig("/tmp/plot.png")',
        'socket.getaddrinfo("localhost", 80)',
        'uuid.uuid1()',
        'print(int(frame["a"].sum()))',
      ].join('\n'),
      { timeoutMs: 60_000 },
    );
    expect(python.stderr).toBe('');
    expect(python.stdout).toBe('3\n');
    const node = await runInSandbox(sandbox, '/usr/bin/node', [
      '-e',
      'const os = require("os"); require("dns").lookup("localhost", (e, a) => console.log(e ? e.code : a, Object.keys(os.networkInterfaces()).join(",")))',
    ]);
    expect(node.stderr).toBe('');
    expect(node.stdout).toMatch(/^(127\.0\.0\.1|::1) lo\n$/);
    const bash = await runInSandbox(sandbox, '/bin/bash', ['-c', 'echo $((6 * 7)) | cat']);
    expect(bash.stdout).toBe('42\n');
  });

  it('passes only the caller’s file descriptors to the sandboxed process', async () => {
    const child = sandbox.spawn(
      '/usr/bin/python3',
      ['-c', 'import os; os.write(3, (" ".join(sorted(os.listdir("/proc/self/fd")))).encode())'],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
    );
    let extra = '';
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (chunk: string) => {
      extra += chunk;
    });
    await once(child, 'close');
    // 0-3 are the caller's; one more is the listing's own directory handle.
    expect(extra.split(' ').map(Number).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('kills every process of every spawn with killAll, detached ones included', async () => {
    const first = sandbox.spawn(
      '/bin/sh',
      ['-c', 'setsid sleep 1000 & nohup sleep 1000 >/dev/null 2>&1 & sleep 1000'],
      { stdio: 'ignore' },
    );
    const firstExited = once(first, 'exit');
    const second = sandbox.spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(1000)'], {
      stdio: 'ignore',
    });
    const secondExited = once(second, 'exit');
    const uid = sandbox.owner!.uid;
    for (let attempt = 0; (await hostPidsOwnedBy(uid)).length < 5 && attempt < 100; attempt++)
      await delay(20);
    expect((await hostPidsOwnedBy(uid)).length).toBeGreaterThanOrEqual(5);
    await sandbox.killAll();
    await Promise.all([firstExited, secondExited]);
    expect(await hostPidsOwnedBy(uid)).toEqual([]);
    expect((await runPython(sandbox, 'print(2)')).stdout).toBe('2\n');
  });

  it('lets no background process outlive the spawn that started it', async () => {
    const result = await runInSandbox(sandbox, '/bin/sh', [
      '-c',
      'setsid sleep 1000 & nohup sleep 1000 >/dev/null 2>&1 & echo started',
    ]);
    expect(result.stdout).toBe('started\n');
    await delay(100);
    expect(await hostPidsOwnedBy(sandbox.owner!.uid)).toEqual([]);
  });

  it('delegates a cgroup in which a run and everything it started can be killed from inside', async () => {
    expect(sandbox.runCgroupPath).toBe('/sys/fs/cgroup');
    const marker = `7777.${process.pid}`;
    const result = await runPython(
      sandbox,
      [
        'import os, subprocess, time',
        'os.mkdir("/sys/fs/cgroup/run-1")',
        'pid = os.fork()',
        'if pid == 0:',
        '    open("/sys/fs/cgroup/run-1/cgroup.procs", "w").write("0")',
        `    subprocess.Popen(["/usr/bin/sleep", "${marker}"], start_new_session=True)`,
        `    os.system("(setsid /usr/bin/sleep ${marker} &) &")`,
        '    os._exit(0)',
        'os.waitpid(pid, 0)',
        'time.sleep(0.2)',
        'print(len(open("/sys/fs/cgroup/run-1/cgroup.procs").read().split()))',
        'open("/sys/fs/cgroup/run-1/cgroup.kill", "w").write("1")',
        'time.sleep(0.2)',
        'print(len(open("/sys/fs/cgroup/run-1/cgroup.procs").read().split()))',
        'os.rmdir("/sys/fs/cgroup/run-1")',
        'for name in ["cgroup.max.descendants", "cgroup.freeze", "cgroup.subtree_control"]:',
        '    try:',
        '        open("/sys/fs/cgroup/" + name, "w").write("1"); print(name, "WROTE")',
        '    except OSError as e:',
        '        print(name, e.strerror)',
        'os.mkdir("/sys/fs/cgroup/a")',
        'try:',
        '    os.mkdir("/sys/fs/cgroup/a/b")',
        'except OSError as e:',
        '    print("nested", e.strerror)',
        'os.rmdir("/sys/fs/cgroup/a")',
      ].join('\n'),
    );
    expect(result.stdout.split('\n')).toEqual([
      '2',
      '0',
      'cgroup.max.descendants Permission denied',
      'cgroup.freeze Permission denied',
      'cgroup.subtree_control Permission denied',
      'nested Resource temporarily unavailable',
      '',
    ]);
    expect(await hostPidsOwnedBy(sandbox.owner!.uid)).toEqual([]);
  });

  it.each([
    ['Landlock forbids it', []],
    ['without Landlock, the zygote sweeps it', ['--no-landlock']],
  ])('a zygote run cannot leave its cgroup to outlive itself: %s', async (_, extraArguments) => {
    const marker = `4242.${process.pid}${extraArguments.length}`;
    const zygote = sandbox.spawn(
      '/usr/bin/python3',
      ['/opt/hopgen/zygote.py', '--run-cgroup', '/sys/fs/cgroup', ...extraArguments],
      { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
    );
    const exited = once(zygote, 'exit');
    const replies: Record<string, unknown>[] = [];
    let buffered = '';
    (zygote.stdio[3] as Readable).setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.trim()) replies.push(JSON.parse(line));
    });
    const exitOf = async (id: string) => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const reply = replies.find((candidate) => candidate.id === id && candidate.event === 'exited');
        if (reply) return reply;
        await delay(20);
      }
      throw new Error(`run ${id} did not exit`);
    };
    try {
      // Each child escapes one way (back to the root, into a cgroup of its own), then becomes a
      // sleep that should die with the run.
      const attack = [
        'import os',
        // The run waits until both grandchildren have reported, however loaded the machine is.
        'done_read, done_write = os.pipe()',
        'for target in ["/sys/fs/cgroup", "/sys/fs/cgroup/hide"]:',
        '    if os.fork() == 0:',
        '        os.setsid()',
        '        if os.fork() == 0:',
        '            try:',
        '                os.makedirs(target, exist_ok=True)',
        '                open(target + "/cgroup.procs", "w").write(str(os.getpid()))',
        '                print(target, "escaped", flush=True)',
        '            except OSError as e:',
        '                print(target, e.strerror, flush=True)',
        '            os.write(done_write, b"x")',
        `            os.execv("/usr/bin/sleep", ["sleep", "${marker}"])`,
        '        os._exit(0)',
        'os.close(done_write)',
        'reported = b""',
        'while len(reported) < 2:',
        '    chunk = os.read(done_read, 2)',
        '    if not chunk:',
        '        break',
        '    reported += chunk',
      ].join('\n');
      zygote.stdin!.write(`${JSON.stringify({ op: 'run', id: 'attack', code: attack })}\n`);
      const reply = await exitOf('attack');
      const lines = String(reply.stdout).trim().split('\n').sort();
      expect(lines).toEqual(
        extraArguments.length === 0
          ? ['/sys/fs/cgroup Permission denied', '/sys/fs/cgroup/hide Permission denied']
          : ['/sys/fs/cgroup escaped', '/sys/fs/cgroup/hide escaped'],
      );
      let survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
      for (let attempt = 0; survivors.length > 0 && attempt < 40; attempt++) {
        await delay(50);
        survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
      }
      expect(survivors).toEqual([]);
      // The zygote still serves runs afterwards.
      zygote.stdin!.write(`${JSON.stringify({ op: 'run', id: 'after', code: 'print(6 * 7)' })}\n`);
      expect((await exitOf('after')).stdout).toBe('42\n');
    } finally {
      zygote.stdin!.end();
      await exited;
    }
    expect(await hostPidsOwnedBy(sandbox.owner!.uid)).toEqual([]);
  });

  it('freezes and thaws every process', async () => {
    const child = sandbox.spawn('/usr/bin/python3', [
      '-c',
      'import time\nwhile True:\n    print("tick", flush=True); time.sleep(0.02)',
    ]);
    const exited = once(child, 'exit');
    let ticks = 0;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      ticks += chunk.split('tick').length - 1;
    });
    while (ticks < 3) await delay(20);
    await sandbox.freeze();
    await delay(50);
    const frozenAt = ticks;
    await delay(400);
    expect(ticks).toBe(frozenAt);
    await sandbox.thaw();
    await delay(400);
    expect(ticks).toBeGreaterThan(frozenAt + 3);
    await sandbox.killAll();
    await exited;
  });

  it('destroy removes the workspace, the mounts and the processes, and is idempotent', async () => {
    const doomed = await newSandbox();
    await runPython(
      doomed,
      'import os; open("/workspace/file", "w").write("x"); os.mkdir("/sys/fs/cgroup/left")',
    );
    const running = doomed.spawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
    const directory = path.dirname(doomed.workspaceDir);
    await doomed.destroy();
    await doomed.destroy();
    expect(running.exitCode !== null || running.signalCode !== null).toBe(true);
    expect(existsSync(doomed.workspaceDir)).toBe(false);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(directory);
    expect(await hostPidsOwnedBy(doomed.owner!.uid)).toEqual([]);
    expect(() => doomed.spawn('/bin/true', [])).toThrow(SandboxDestroyedError);
  });

  it('preflight names the fix when bwrap is missing', async () => {
    const broken = new BubblewrapBackend({ bwrapPath: '/nonexistent/bwrap' });
    const error = await broken.preflight().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as PreflightError).check).toBe('bwrap');
    expect((error as Error).message).toContain('apt-get install bubblewrap');
  });
});

describe('none backend', () => {
  it('warns, clears the environment, keeps files and kills process groups', async () => {
    const warnings: string[] = [];
    const none = new NoneBackend({ warn: (message) => warnings.push(message) });
    try {
      const unisolated = await none.create({ id: 'none-1', limits: LIMITS, internetAccess: false });
      expect(warnings.join('')).toContain('UNISOLATED');
      const environment = await runPython(
        unisolated,
        'import os; open("kept", "w").write("x"); print(sorted(os.environ))',
      );
      expect(environment.stdout).not.toContain('HOPGEN_TEST_SECRET');
      expect(await readFile(path.join(unisolated.workspaceDir, 'kept'), 'utf8')).toBe('x');
      const sleeper = unisolated.spawn('/bin/sh', ['-c', 'sleep 1000 & sleep 1000']);
      await delay(100);
      await unisolated.killAll();
      await once(sleeper, 'close');
      expect(sleeper.signalCode).toBe('SIGKILL');
      await unisolated.destroy();
      expect(existsSync(unisolated.workspaceDir)).toBe(false);
    } finally {
      await none.close();
    }
  });
});
