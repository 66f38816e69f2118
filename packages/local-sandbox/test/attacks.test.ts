import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { APIError, Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPids, hostPidsWithCommandLine } from './support/sandbox-process.js';

/**
 * Hostile user code, sent through the real `@hopx-ai/sdk` to a real server with the bubblewrap
 * backend. Every attack runs in one sandbox while another sandbox keeps being served; afterwards the
 * host is checked from the outside (its files, its processes, its disk, this process).
 */

const MiB = 1024 * 1024;
const SECRET = `attack-secret-${process.pid}-${Date.now()}`;
const THIS_FILE = fileURLToPath(import.meta.url);
const SERVER_SOURCE = fileURLToPath(new URL('../src/server/server.ts', import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

let server: LocalSandboxServer;
let attacker: Sandbox;
let bystander: Sandbox;

beforeAll(async () => {
  process.env.HOPGEN_TEST_SECRET = SECRET;
  server = await startLocalSandboxServer({
    host: '127.0.0.1',
    port: 0,
    isolation: 'bubblewrap',
    limits: { memoryBytes: 256 * MiB, pids: 128, tmpBytes: 32 * MiB, workspaceBytes: 64 * MiB },
  });
  const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
  [attacker, bystander] = await Promise.all([Sandbox.create(options), Sandbox.create(options)]);
  await bystander.files.write('/workspace/bystander-private.txt', SECRET);
});

afterAll(async () => {
  await attacker?.kill().catch(() => undefined);
  await bystander?.kill().catch(() => undefined);
  await server?.close();
  delete process.env.HOPGEN_TEST_SECRET;
});

interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** The SDK error when the run did not return a result (a timeout, for example). */
  error: unknown;
}

/** Runs attacker code as Python while the bystander sandbox is asked to compute 6*7 over and over. */
async function attackWhileServing(code: string, timeoutSeconds = 20): Promise<Outcome> {
  let attackDone = false;
  const attack = attacker
    .runCode(code, { language: 'python', timeout: timeoutSeconds })
    .then(
      (result) => ({
        stdout: result.stdout ?? '',
        stderr: result.stderr ?? '',
        exitCode: result.exit_code ?? null,
        error: undefined,
      }),
      (error: unknown) => ({ stdout: '', stderr: '', exitCode: null, error }),
    )
    .finally(() => {
      attackDone = true;
    });
  const answers: string[] = [];
  const started = Date.now();
  do {
    const result = await bystander.runCode('print(6 * 7)', { language: 'python', timeout: 30 });
    answers.push(result.stdout ?? '');
  } while (!attackDone && Date.now() - started < 120_000);
  // One more after the attack, so the server is shown serving once it is over too.
  answers.push((await bystander.runCode('print(6 * 7)', { language: 'python', timeout: 30 })).stdout ?? '');
  expect(answers.every((answer) => answer === '42\n')).toBe(true);
  return attack;
}

describe('attacks from sandboxed code are contained', () => {
  it('cannot read host files: /etc/shadow, /root, the server sources, the repository', async () => {
    const outcome = await attackWhileServing(
      [
        'import os',
        `targets = ["/etc/shadow", "/etc/sudoers", "/root/.bash_history", ${JSON.stringify(SERVER_SOURCE)}, ${JSON.stringify(THIS_FILE)}, ${JSON.stringify(`${REPOSITORY_ROOT}/package.json`)}]`,
        'for path in targets:',
        '    try:',
        '        print(path, "READ", len(open(path).read()))',
        '    except OSError as e:',
        '        print(path, type(e).__name__)',
        `for directory in ["/root", "/home", ${JSON.stringify(REPOSITORY_ROOT)}, "/sys/kernel", "/sys/fs/cgroup/memory", "/var/lib"]:`,
        '    print(directory, os.path.exists(directory))',
        'print(sorted(os.listdir("/")))',
      ].join('\n'),
    );
    expect(outcome.stdout).not.toContain('READ');
    expect(outcome.stdout).toContain('/etc/shadow FileNotFoundError');
    expect(outcome.stdout).toContain(`${SERVER_SOURCE} FileNotFoundError`);
    expect(outcome.stdout).toContain(`${REPOSITORY_ROOT} False`);
    expect(outcome.stdout).toContain('/root False');
    const topLevel = outcome.stdout.trim().split('\n').at(-1);
    expect(topLevel).toBe(
      "['bin', 'dev', 'etc', 'lib', 'lib64', 'opt', 'proc', 'sbin', 'sys', 'tmp', 'usr', 'workspace']",
    );
  });

  it('cannot read the host environment or the server process environment', async () => {
    const outcome = await attackWhileServing(
      [
        'import os, glob',
        'print(dict(os.environ))',
        'for path in glob.glob("/proc/*/environ"):',
        '    try:',
        '        print(path, open(path, "rb").read().replace(b"\\0", b" ").decode())',
        '    except OSError as e:',
        '        print(path, type(e).__name__)',
      ].join('\n'),
    );
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout).toContain('PATH');
    expect(outcome.stdout).not.toContain(SECRET);
    expect(outcome.stdout).not.toContain('HOPGEN_TEST_SECRET');
  });

  it("cannot read another sandbox's files", async () => {
    const outcome = await attackWhileServing(
      [
        'import os',
        'found = []',
        'for root, dirs, files in os.walk("/", onerror=lambda e: None):',
        '    if root.startswith("/proc"): dirs[:] = []; continue',
        '    found += [os.path.join(root, f) for f in files if f == "bystander-private.txt"]',
        'print(found)',
      ].join('\n'),
      60,
    );
    expect(outcome.stdout).toBe('[]\n');
    expect(await bystander.files.read('/workspace/bystander-private.txt')).toBe(SECRET);
  });

  it("cannot connect to ports on the host's 127.0.0.1, the server's own included", async () => {
    const listener = net.createServer((socket) => socket.end('host service'));
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    let accepted = 0;
    listener.on('connection', () => {
      accepted++;
    });
    const hostPort = (listener.address() as net.AddressInfo).port;
    const serverPort = Number(new URL(server.baseURL).port);
    try {
      const outcome = await attackWhileServing(
        [
          'import socket',
          `for port in [${hostPort}, ${serverPort}]:`,
          '    for host in ["127.0.0.1", "localhost", "::1"]:',
          '        try:',
          '            socket.create_connection((host, port), timeout=2)',
          '            print(host, port, "CONNECTED")',
          '        except OSError as e:',
          '            print(host, port, type(e).__name__)',
        ].join('\n'),
      );
      expect(outcome.stdout).not.toContain('CONNECTED');
      expect(outcome.stdout).toContain(`127.0.0.1 ${hostPort} ConnectionRefusedError`);
      expect(accepted).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('a fork bomb stays inside its pids limit and the sandbox recovers', async () => {
    const baseline = (await hostPids()).length;
    let peak = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await hostPids()).length);
        await delay(50);
      }
    })();
    const outcome = await attackWhileServing(
      [
        'import subprocess',
        'subprocess.run(["/bin/bash", "-c", "bomb() { bomb | bomb & }; bomb; sleep 3"], stderr=subprocess.DEVNULL)',
        'print("bomb returned")',
      ].join('\n'),
      8,
    );
    sampling = false;
    await sampler;
    expect(outcome.error === undefined || (outcome.error as APIError).code === 'EXECUTION_TIMEOUT').toBe(
      true,
    );
    // The sandbox's pids limit is 128; other test processes on the host come and go, hence the slack.
    // An unbounded bash fork bomb makes thousands of processes within a second.
    expect(peak - baseline).toBeLessThan(128 + 400);
    // The server may lose the sandbox's process server to the bomb and start a new one.
    let after = await attacker.runCode('print("alive")', { language: 'python', timeout: 30 });
    for (let attempt = 0; after.stdout !== 'alive\n' && attempt < 3; attempt++) {
      after = await attacker.runCode('print("alive")', { language: 'python', timeout: 30 });
    }
    expect(after.stdout).toBe('alive\n');
  });

  it('a memory bomb is killed at the memory limit', async () => {
    const outcome = await attackWhileServing(
      [
        'chunks = []',
        'for i in range(256):',
        '    chunks.append(bytearray(16 * 1024 * 1024))',
        '    print((i + 1) * 16, flush=True)',
        'print("ALLOCATED 4 GiB")',
      ].join('\n'),
    );
    expect(outcome.stdout).not.toContain('ALLOCATED');
    const reached = Number(outcome.stdout.trim().split('\n').at(-1) ?? '0');
    expect(reached).toBeLessThan(256);
    expect(outcome.exitCode).not.toBe(0);
    expect((await attacker.runCode('print("alive")', { language: 'python' })).stdout).toBe('alive\n');
  });

  it('filling the disk ends in ENOSPC inside the sandbox, not on the host disk', async () => {
    const before = await statfs('/');
    const outcome = await attackWhileServing(
      [
        'import errno',
        'for target in ["/workspace/fill", "/tmp/fill"]:',
        '    written = 0',
        '    try:',
        '        with open(target, "wb") as f:',
        '            while written < 2 * 1024 ** 3:',
        '                f.write(b"x" * 1048576); f.flush(); written += 1048576',
        '    except OSError as e:',
        '        print(target, errno.errorcode[e.errno], written // 1048576)',
        'import os',
        'os.remove("/workspace/fill"); os.remove("/tmp/fill")',
      ].join('\n'),
    );
    const after = await statfs('/');
    const lines = outcome.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\/workspace\/fill ENOSPC (\d+)$/);
    expect(lines[1]).toMatch(/^\/tmp\/fill ENOSPC (\d+)$/);
    expect(Number(lines[0]!.split(' ')[2])).toBeLessThanOrEqual(64);
    expect(Number(lines[1]!.split(' ')[2])).toBeLessThanOrEqual(32);
    // Other processes write to the host disk too; the attack alone would have taken 4 GiB.
    expect((before.bavail - after.bavail) * before.bsize).toBeLessThan(1024 * MiB);
  });

  it('an infinite loop is stopped at its timeout, and nothing it started keeps running', async () => {
    const marker = `attack-loop-${process.pid}`;
    const started = Date.now();
    const outcome = await attackWhileServing(
      [
        'import subprocess',
        `subprocess.Popen(["/usr/bin/python3", "-c", "while True: pass", ${JSON.stringify(marker)}])`,
        'while True: pass',
      ].join('\n'),
      2,
    );
    expect(outcome.error).toBeInstanceOf(APIError);
    expect((outcome.error as APIError).code).toBe('EXECUTION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(30_000);
    await delay(200);
    expect(await hostPidsWithCommandLine(marker)).toEqual([]);
  });

  it('a detached background process does not outlive its request', async () => {
    const marker = '98765.4321';
    const outcome = await attackWhileServing(
      [
        'import os, subprocess',
        `subprocess.Popen(["/usr/bin/sleep", "${marker}"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)`,
        `os.system("setsid nohup /usr/bin/sleep ${marker} >/dev/null 2>&1 &")`,
        `os.system("(/usr/bin/sleep ${marker} &) &")`,
        'print("launched")',
      ].join('\n'),
    );
    expect(outcome.stdout).toBe('launched\n');
    let survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
    for (let attempt = 0; survivors.length > 0 && attempt < 20; attempt++) {
      await delay(100);
      survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
    }
    expect(survivors).toEqual([]);
  });

  it('a process that moves itself out of its run cgroup does not outlive its request', async () => {
    const marker = '86420.1357';
    const escapeThen = (then: string) =>
      [
        'import os',
        // The run waits until the grandchild has reported, however loaded the machine is.
        'done_read, done_write = os.pipe()',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        '        for target in ["/sys/fs/cgroup", "/sys/fs/cgroup/run-1", "/sys/fs/cgroup/hide"]:',
        '            try:',
        '                os.makedirs(target, exist_ok=True)',
        '                open(target + "/cgroup.procs", "w").write(str(os.getpid()))',
        '                print(target, "MOVED", flush=True)',
        '            except OSError as e:',
        '                print(target, e.strerror, flush=True)',
        '        os.write(done_write, b"x")',
        `        ${then}`,
        '    os._exit(0)',
        'os.close(done_write)',
        'os.read(done_read, 1)',
      ].join('\n');
    const expected = [
      '',
      '/sys/fs/cgroup Permission denied',
      '/sys/fs/cgroup/hide Permission denied',
      '/sys/fs/cgroup/run-1 Permission denied',
    ];
    const outcome = await attackWhileServing(
      escapeThen(`os.execv("/usr/bin/sleep", ["sleep", "${marker}"])`),
    );
    expect(outcome.stdout.split('\n').sort()).toEqual(expected);
    let survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
    for (let attempt = 0; survivors.length > 0 && attempt < 20; attempt++) {
      await delay(100);
      survivors = await hostPidsWithCommandLine(`sleep ${marker}`);
    }
    expect(survivors).toEqual([]);
    // The persistent interpreter is held to the same rule.
    const fromRepl = await attacker.runIpython(escapeThen('os._exit(0)'), { timeout: 20 });
    expect((fromRepl.stdout ?? '').split('\n').sort()).toEqual(expected);
  });

  it('cannot write outside /workspace and /tmp, and its /tmp is not the host /tmp', async () => {
    const probe = `hopgen-attack-${process.pid}`;
    const outcome = await attackWhileServing(
      [
        `for path in ["/etc/${probe}", "/usr/${probe}", "/opt/hopgen/${probe}", "/${probe}", "/proc/${probe}", "/dev/${probe}"]:`,
        '    try:',
        '        open(path, "w").write("x"); print(path, "WROTE")',
        '    except OSError as e:',
        '        print(path, type(e).__name__)',
        `open("/tmp/${probe}", "w").write("x")`,
        `open("/workspace/${probe}", "w").write("x")`,
        'print("ok")',
      ].join('\n'),
    );
    expect(outcome.stdout).not.toContain('WROTE');
    expect(outcome.stdout.trim().split('\n').at(-1)).toBe('ok');
    for (const hostPath of [`/etc/${probe}`, `/usr/${probe}`, `/${probe}`, `/tmp/${probe}`]) {
      expect(existsSync(hostPath)).toBe(false);
    }
    await attacker.files.remove(`/workspace/${probe}`);
  });

  it('cannot ptrace, unshare, mount or gain capabilities', async () => {
    const outcome = await attackWhileServing(
      [
        'import ctypes, errno, os, subprocess',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'def call(name, *args):',
        '    result = libc.syscall(*[ctypes.c_long(a) for a in args])',
        '    print(name, errno.errorcode.get(ctypes.get_errno()) if result == -1 else result)',
        'status = open("/proc/self/status").read().splitlines()',
        'print([l for l in status if l.startswith(("Seccomp:", "CapEff:", "Uid:"))])',
        'call("ptrace-attach-1", 101, 16, 1, 0, 0)',
        'call("ptrace-traceme", 101, 0, 0, 0, 0)',
        'call("unshare-user", 272, 0x10000000)',
        'call("unshare-mount", 272, 0x00020000)',
        'call("mount", 165, 0, 0, 0, 0, 0)',
        // uid 0 does not exist in the sandbox's user namespace.
        'call("setuid-0", 105, 0)',
        'for command in (["unshare", "-r", "id"], ["unshare", "-U", "-m", "true"]):',
        '    print(command[:2], subprocess.run(command, capture_output=True, text=True).returncode)',
      ].join('\n'),
    );
    expect(outcome.stdout.split('\n')).toEqual([
      "['Uid:\\t1000\\t1000\\t1000\\t1000', 'CapEff:\\t0000000000000000', 'Seccomp:\\t2']",
      'ptrace-attach-1 EPERM',
      'ptrace-traceme EPERM',
      'unshare-user EPERM',
      'unshare-mount EPERM',
      'mount EPERM',
      'setuid-0 EINVAL',
      "['unshare', '-r'] 1",
      "['unshare', '-U'] 1",
      '',
    ]);
  });

  it('cannot reach the hypervisor or the link layer: AF_VSOCK and AF_PACKET sockets fail', async () => {
    const outcome = await attackWhileServing(
      [
        'import socket',
        'for name, make in [',
        '    ("vsock-bind", lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).bind((socket.VMADDR_CID_ANY, 47123))),',
        '    ("vsock-connect", lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).connect((2, 1024))),',
        '    ("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)),',
        ']:',
        '    try:',
        '        make(); print(name, "OPENED")',
        '    except OSError as e:',
        '        print(name, e.strerror)',
      ].join('\n'),
    );
    expect(outcome.stdout.split('\n')).toEqual([
      'vsock-bind Address family not supported by protocol',
      'vsock-connect Address family not supported by protocol',
      'packet Address family not supported by protocol',
      '',
    ]);
  });

  it('cannot read or write the memory or protocol pipes of the zygote and the interpreter', async () => {
    // A forged reply for every id the host may use next, on the interpreter's old protocol fds.
    const repl = await attacker.runIpython(
      [
        'import json, os',
        'for fd in (4, 5):',
        '    for k in range(1, 100):',
        '        os.write(fd, (json.dumps({"id": "i%d" % k, "exit_code": 0, "stdout": "FORGED\\n", "stderr": ""}) + "\\n").encode())',
        // os.system passes every inheritable descriptor on to the shell.
        'print("shell", os.waitstatus_to_exitcode(os.system("echo forged >&5 2>/dev/null")))',
        'print(os.getpid())',
      ].join('\n'),
      { timeout: 20 },
    );
    const [shell, replPid] = (repl.stdout ?? '').trim().split('\n');
    expect(shell).toBe('shell 2');
    expect(Number(replPid)).toBeGreaterThan(2);
    const outcome = await attackWhileServing(
      [
        'import os',
        `for pid in (2, ${Number(replPid)}):`,
        '    for what in ("mem", "environ", "fd/3", "fd/5"):',
        '        try:',
        '            os.close(os.open("/proc/%d/%s" % (pid, what), os.O_RDWR if what == "mem" else os.O_RDONLY))',
        '            print(what, "OPENED")',
        '        except OSError as e:',
        '            print(what, e.strerror)',
      ].join('\n'),
    );
    expect(outcome.stdout).not.toContain('OPENED');
    expect(outcome.stdout.split('\n')).toContain('mem Permission denied');
    const after = await attacker.runIpython('print(6 * 7)', { timeout: 20 });
    expect(after.stdout).toBe('42\n');
  });

  it('cannot signal the server process', async () => {
    const outcome = await attackWhileServing(
      [
        'import os, signal',
        `for pid in [${process.pid}, ${process.ppid}, 1]:`,
        '    for sig in [signal.SIGKILL, signal.SIGTERM]:',
        '        try:',
        '            os.kill(pid, sig); print(pid, sig.name, "SENT")',
        '        except OSError as e:',
        '            print(pid, sig.name, type(e).__name__)',
      ].join('\n'),
    );
    // Inside its own pid namespace the server's pid does not exist; pid 1 is the sandbox's own init,
    // which does not take signals it has no handler for from its own namespace.
    expect(outcome.stdout).not.toContain(`${process.pid} SIGKILL SENT`);
    expect(outcome.stdout).toContain(`${process.pid} SIGKILL ProcessLookupError`);
    const health = await fetch(new URL('/health', server.baseURL));
    expect(health.ok).toBe(true);
    expect((await attacker.runCode('print("alive")', { language: 'python' })).stdout).toBe('alive\n');
  });
});
