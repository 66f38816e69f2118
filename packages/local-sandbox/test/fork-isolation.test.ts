import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPidsWithCommandLine } from './support/sandbox-process.js';

/**
 * Properties every sandbox must keep however its Python starts: imported in the sandbox, or copied
 * from a process that imported the libraries already (a fork server, copy-on-write). They are checked
 * through the SDK from inside, and from the host through /proc and the sandboxes' cgroups, so they
 * hold for whatever mechanism the server uses.
 */

const run = promisify(execFile);
/** Each sandbox's memory limit: room for pandas, numpy and matplotlib, small enough to reach quickly. */
const MEMORY_LIMIT_MIB = 256;
const MARKER = `fork-isolation-${process.pid}-${Date.now()}`;
const SECRET = `fork-isolation-secret-${process.pid}-${Date.now()}`;
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

let baseDirectory: string;
let server: LocalSandboxServer;
let first: Sandbox;
let second: Sandbox;

/** Runs `code` in the sandbox's persistent interpreter; fails on an error so a broken probe cannot pass. */
async function inInterpreter(sandbox: Sandbox, code: string): Promise<string> {
  const result = await sandbox.runIpython(code, { timeout: 60 });
  if ((result.stderr ?? '') !== '' || result.exit_code !== 0) {
    throw new Error(`the probe failed in the interpreter: ${JSON.stringify(result)}`);
  }
  return result.stdout ?? '';
}

/** Runs `code` as a fresh Python process of the sandbox; fails on a non-zero exit. */
async function inFreshProcess(sandbox: Sandbox, code: string): Promise<string> {
  const result = await sandbox.runCode(code, { language: 'python', timeout: 60 });
  if (result.exit_code !== 0)
    throw new Error(`the probe failed in a fresh process: ${JSON.stringify(result)}`);
  return result.stdout ?? '';
}

/** The last line the code printed, parsed as JSON. */
function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as T;
}

/** The memory (or unified) cgroup directory of a host process, as the host sees it. */
async function cgroupDirectoryOf(pid: number): Promise<string> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  const memory = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
  if (memory) return `/sys/fs/cgroup/memory${memory.slice(memory.indexOf(':', memory.indexOf(':') + 1) + 1)}`;
  const unified = lines.find((line) => line.startsWith('0::'));
  if (!unified) throw new Error(`process ${pid} is in no memory or unified cgroup`);
  const relative = unified.slice(3);
  const hybrid = `/sys/fs/cgroup/unified${relative}`;
  return (await readdir(hybrid)
    .then(() => true)
    .catch(() => false))
    ? hybrid
    : `/sys/fs/cgroup${relative}`;
}

/** Every host pid in a cgroup directory and the cgroups below it. */
async function processesBelow(directory: string): Promise<number[]> {
  const procs = await readFile(path.join(directory, 'cgroup.procs'), 'utf8').catch(() => '');
  const pids = procs.split('\n').filter(Boolean).map(Number);
  for (const entry of await readdir(directory, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) pids.push(...(await processesBelow(path.join(directory, entry.name))));
  }
  return pids;
}

/**
 * Host pids of every process of a sandbox (its bubblewrap holder included): the processes of the
 * cgroup the server made for it, `<its own cgroup>/hopgen-<pid>-<id>/<sandbox>`, found from the
 * sandbox's marker process.
 */
async function hostProcessesOf(sandbox: Sandbox): Promise<number[]> {
  const markers = await hostPidsWithCommandLine(`${MARKER}-${sandbox.sandboxId}`);
  expect(markers).toHaveLength(1);
  const directory = await cgroupDirectoryOf(markers[0]!);
  const sandboxDirectory = /^(.*\/hopgen-\d+-[a-z0-9]+\/[^/]+)/.exec(directory)?.[1];
  if (sandboxDirectory === undefined) throw new Error(`${directory} is not below a server's cgroup`);
  const pids = await processesBelow(sandboxDirectory);
  expect(pids).toContain(markers[0]);
  return pids;
}

/** Parent pid of every host process. */
async function hostParents(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may hold spaces and parentheses: fields restart after the last ')'.
    if (stat !== '') parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  return parents;
}

/** Every live descendant of this process, which runs the server: sandboxes, and any helper it starts. */
async function serverDescendants(): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of await hostParents())
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  const found: number[] = [];
  const queue = [...(children.get(process.pid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** A host status field of a process (`Uid`, `NSpid`, ...), or undefined once it is gone. */
async function statusField(pid: number, field: string): Promise<string | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(status)?.[1];
}

/** Paths in every file under `directory`, a few levels deep. */
async function filesUnder(directory: string, depth = 5): Promise<string[]> {
  if (depth === 0) return [];
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(full, depth - 1)));
    else found.push(full);
  }
  return found;
}

beforeAll(async () => {
  // A base directory of our own, so the test knows the real host path of every workspace.
  baseDirectory = await mkdtemp(path.join(tmpdir(), 'hopgen-fork-isolation-'));
  await chmod(baseDirectory, 0o755);
  server = await startLocalSandboxServer({
    isolation: 'bubblewrap',
    baseDirectory,
    limits: { memoryBytes: MEMORY_LIMIT_MIB * 1024 * 1024 },
  });
  const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
  [first, second] = await Promise.all([Sandbox.create(options), Sandbox.create(options)]);
  for (const sandbox of [first, second]) {
    // A process the host can find by its command line, leading to the sandbox's cgroup.
    await inInterpreter(
      sandbox,
      `import subprocess\nmarker = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(3600)", ${JSON.stringify(`${MARKER}-${sandbox.sandboxId}`)}])`,
    );
  }
});

afterAll(async () => {
  await first?.kill().catch(() => undefined);
  await second?.kill().catch(() => undefined);
  await server?.close();
  if (baseDirectory) await rm(baseDirectory, { recursive: true, force: true });
});

const STATUS_PROBE = [
  'import json',
  'fields = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())',
  'print(json.dumps({name: fields[name].strip() for name in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Uid", "Gid"]}))',
].join('\n');

describe('user code holds no privilege', () => {
  it('has no capabilities, no_new_privs, the seccomp filter and uid 1000: in the interpreter, a fresh process and a child process', async () => {
    const unprivileged = {
      CapInh: '0000000000000000',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '0000000000000000',
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
      Seccomp: '2',
      Uid: '1000\t1000\t1000\t1000',
      Gid: '1000\t1000\t1000\t1000',
    };
    expect(lastJson(await inInterpreter(first, STATUS_PROBE))).toEqual(unprivileged);
    expect(lastJson(await inFreshProcess(first, STATUS_PROBE))).toEqual(unprivileged);
    const child = await inInterpreter(
      first,
      `import subprocess\nprint(subprocess.run(["/usr/bin/python3", "-c", ${JSON.stringify(STATUS_PROBE)}], capture_output=True, text=True, check=True).stdout)`,
    );
    expect(lastJson(child)).toEqual(unprivileged);
  });
});

/** Lists the probe's open descriptors; a socket's entry says whether it and its peer are in the sandbox. */
const DESCRIPTOR_PROBE = [
  'import json, os, socket, struct',
  'own_sockets = {line.split()[6] for line in open("/proc/net/unix").read().splitlines()[1:]}',
  'descriptors = {}',
  'for fd in sorted(os.listdir("/proc/self/fd"), key=int):',
  '    try:',
  '        target = os.readlink("/proc/self/fd/" + fd)',
  '    except OSError:',
  // The descriptor os.listdir read the directory with, closed by now.
  '        continue',
  '    entry = {"target": target}',
  '    if target.startswith("socket:["):',
  '        entry["inSandboxNamespace"] = target[8:-1] in own_sockets',
  '        peer = socket.socket(fileno=os.dup(int(fd)))',
  '        try:',
  '            pid = struct.unpack("3i", peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]',
  // A peer outside the sandbox's pid namespace shows as pid 0.
  '            entry["peerInSandbox"] = pid != 0 and os.path.exists("/proc/%d" % pid)',
  '        finally:',
  '            peer.close()',
  '    descriptors[fd] = entry',
  'print(json.dumps(descriptors))',
].join('\n');

type Descriptors = Record<string, { target: string; inSandboxNamespace?: boolean; peerInSandbox?: boolean }>;

/** Socket inodes this process (the server) holds. */
async function serverSocketInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
  }
  return inodes;
}

/** The peer inode of every connected Unix socket on the host, from `ss` (the kernel's sock_diag). */
async function unixSocketPeers(): Promise<Map<string, string>> {
  const { stdout } = await run('ss', ['-x', '-a', '-n']);
  const peers = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    // Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode
    const match = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)/.exec(line);
    if (match) peers.set(match[1]!, match[2]!);
  }
  return peers;
}

/**
 * Descriptors other than /dev/null, an output memfd, or a Unix socket whose both ends are in the
 * sandbox or whose other end the server holds (the interpreter's protocol channel to the server).
 */
async function undocumented(descriptors: Descriptors): Promise<Descriptors> {
  const [peers, server] = await Promise.all([unixSocketPeers(), serverSocketInodes()]);
  return Object.fromEntries(
    Object.entries(descriptors).filter(([, { target, inSandboxNamespace, peerInSandbox }]) => {
      if (target === '/dev/null' || /^\/memfd:[\w-]+ \(deleted\)$/.test(target)) return false;
      if (!target.startsWith('socket:[')) return true;
      if (inSandboxNamespace === true && peerInSandbox === true) return false;
      const peer = peers.get(target.slice(8, -1));
      return peer === undefined || !server.has(peer);
    }),
  );
}

describe('user code holds no descriptor to the host', () => {
  it("has only /dev/null, its output memfds and Unix sockets to its own sandbox or the server's protocol end, in the interpreter and in a fresh process", async () => {
    for (const probe of [inInterpreter, inFreshProcess]) {
      const descriptors = lastJson<Descriptors>(await probe(first, DESCRIPTOR_PROBE));
      // Standard input, output and error are there: the probe sees what it looks for.
      expect(Object.keys(descriptors)).toEqual(expect.arrayContaining(['0', '1', '2']));
      expect(await undocumented(descriptors)).toEqual({});
    }
  });
});

/** Everything user code can read that could name a path: module files, paths, environment, /proc. */
const PATH_PROBE = [
  'import json, os, sys',
  'import numpy, pandas, matplotlib, matplotlib.pyplot',
  'texts = {"sys.path": sys.path, "sys": [sys.executable, sys.prefix, sys.base_prefix, sys.argv, os.getcwd()], "environ": dict(os.environ)}',
  // Directories a library remembers from its import, which a process that imported it elsewhere would keep.
  'texts["matplotlib"] = [matplotlib.get_configdir(), matplotlib.get_cachedir(), matplotlib.matplotlib_fname(), matplotlib.get_backend()]',
  'texts["modules"] = sorted(',
  '    str(value) for module in list(sys.modules.values())',
  '    for value in (getattr(module, "__file__", None), getattr(getattr(module, "__spec__", None), "origin", None), list(getattr(module, "__path__", []) or []))',
  ')',
  'for name in ["environ", "cmdline", "mountinfo", "cgroup", "maps"]:',
  '    try:',
  '        texts["/proc/self/" + name] = open("/proc/self/" + name, "rb").read().decode("utf8", "replace")',
  '    except OSError as error:',
  // The interpreter is not dumpable: its own environ is closed to it. os.environ holds the same.
  '        texts["/proc/self/" + name] = "unreadable: " + error.strerror',
  'for pid in [entry for entry in os.listdir("/proc") if entry.isdigit()]:',
  '    try:',
  '        texts["/proc/%s/cmdline" % pid] = open("/proc/%s/cmdline" % pid, "rb").read().decode("utf8", "replace")',
  '    except OSError:',
  '        pass',
  'print(json.dumps(texts))',
].join('\n');

describe('nothing in a sandbox names a host path', () => {
  it("sys.path, every module's file, the environment, cmdline, mountinfo and maps name neither the base directory, the repository nor a hopgen host directory", async () => {
    // The workspace lives below the base directory on the host: the path the sandbox must not learn.
    const probeFile = `where-${Date.now()}.txt`;
    await first.files.write(`/workspace/${probeFile}`, 'here');
    const onHost = (await filesUnder(baseDirectory)).filter((file) =>
      file.endsWith(`/workspace/${probeFile}`),
    );
    expect(onHost).toHaveLength(1);
    const hostFragments = [
      baseDirectory,
      REPOSITORY_ROOT,
      'hopgen-sandboxes-',
      'hopgen-delegate',
      'hopgen-fork-isolation-',
      '/tmp/hopgen',
      `hopgen-${process.pid}-`,
    ];
    for (const probe of [inInterpreter, inFreshProcess]) {
      const texts = lastJson<Record<string, unknown>>(await probe(first, PATH_PROBE));
      // The probe read real module paths and a real mount table.
      expect(JSON.stringify(texts.modules)).toContain('/pandas/');
      expect(String(texts['/proc/self/mountinfo'])).toContain(' /workspace ');
      const leaks = Object.entries(texts).flatMap(([where, value]) => {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        return hostFragments
          .filter((fragment) => text.includes(fragment))
          .map((fragment) => `${where}: ${fragment}`);
      });
      expect(leaks).toEqual([]);
    }
  });
});

/** Lists the probe's own /proc and tries to signal each host pid it is given. */
function processProbe(hostPids: number[]): string {
  return [
    'import json, os',
    'own = {}',
    'for pid in sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit()):',
    '    try:',
    '        own[pid] = open("/proc/%d/cmdline" % pid, "rb").read().replace(b"\\0", b" ").decode("utf8", "replace")',
    '    except OSError:',
    '        pass',
    'reached = {}',
    `for pid in ${JSON.stringify(hostPids)}:`,
    '    if pid in own or os.path.exists("/proc/%d" % pid):',
    '        reached[pid] = "listed"',
    '        continue',
    '    try:',
    '        os.kill(pid, 0)',
    '        reached[pid] = "signalled"',
    '    except ProcessLookupError:',
    '        pass',
    '    except OSError as error:',
    '        reached[pid] = error.strerror',
    'print(json.dumps({"own": own, "reached": reached}))',
  ].join('\n');
}

describe('a sandbox sees only its own processes', () => {
  it("lists exactly its own processes in /proc, and cannot see or signal the server's, a helper's or another sandbox's", async () => {
    const ownHost = await hostProcessesOf(first);
    const otherHost = await hostProcessesOf(second);
    // Every process of the server that is not the first sandbox's: the second sandbox and any helper.
    const outsiders = (await serverDescendants()).filter((pid) => !ownHost.includes(pid));
    expect(outsiders).toEqual(expect.arrayContaining(otherHost));
    const seen = lastJson<{ own: Record<string, string>; reached: Record<string, string> }>(
      await inInterpreter(first, processProbe([...outsiders, process.pid])),
    );
    expect(seen.reached).toEqual({});
    expect(Object.values(seen.own).join('\n')).not.toContain(`${MARKER}-${second.sandboxId}`);
    expect(Object.values(seen.own).join('\n')).toContain(`${MARKER}-${first.sandboxId}`);
    // The pids it lists are, one for one, the processes of its pid namespace (the marker's), every one
    // of them in its own cgroup.
    const [marker] = await hostPidsWithCommandLine(`${MARKER}-${first.sandboxId}`);
    const namespace = await readlink(`/proc/${marker}/ns/pid`);
    const innerPids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => '')) !== namespace) continue;
      expect(ownHost).toContain(Number(entry));
      innerPids.push(Number((await statusField(Number(entry), 'NSpid'))?.split(/\s+/).at(-1)));
    }
    expect(
      Object.keys(seen.own)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(innerPids.sort((a, b) => a - b));
  });
});

/** Reads the library state a sandbox may change, patches it for `owner`, and reports what it sees. */
const LIBRARY_PROBE = [
  'import ctypes, json, sys',
  'import numpy as np, pandas as pd',
  'def overwrite_in_place(text, letter):',
  // A compact ASCII str keeps its characters at the end of the object: write over them in memory.
  '    assert text.isascii()',
  '    ctypes.memset(id(text) + sys.getsizeof(text) - len(text) - 1, ord(letter), len(text))',
  'def patch(owner):',
  '    pd.DataFrame.sum = lambda self, *args, **kwargs: owner + "-PATCHED"',
  '    pd.hopgen_owner = owner',
  '    pd.set_option("display.max_rows", 7 if owner == "A" else 9)',
  '    np.set_printoptions(precision=2 if owner == "A" else 3)',
  '    overwrite_in_place(np.__version__, owner)',
  'def view():',
  '    total = pd.DataFrame({"x": range(1000)}).sum()',
  '    return {',
  '        "sum": total if isinstance(total, str) else int(total["x"]),',
  '        "owner": getattr(pd, "hopgen_owner", None),',
  '        "maxRows": pd.get_option("display.max_rows"),',
  '        "repr": repr(np.array([1 / 3])),',
  '        "numpyVersion": "".join(list(np.__version__)),',
  '    }',
].join('\n');

describe("copy-on-write: a sandbox's changes to its libraries stay its own", () => {
  it('a sandbox created after another patched pandas and wrote into numpy sees them pristine, and two sandboxes at once each see only their own changes', async () => {
    const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
    const patcher = await Sandbox.create(options);
    let later: Sandbox | undefined;
    let latest: Sandbox | undefined;
    try {
      const patched = lastJson<{ before: Record<string, unknown>; after: Record<string, unknown> }>(
        await inInterpreter(
          patcher,
          `${LIBRARY_PROBE}\nbefore = view()\npatch("A")\nprint(json.dumps({"before": before, "after": view()}))`,
        ),
      );
      const pristine = patched.before;
      expect(pristine).toEqual({
        sum: 499500,
        owner: null,
        maxRows: 60,
        repr: 'array([0.33333333])',
        numpyVersion: expect.stringMatching(/^\d+\.\d+/),
      });
      const ownedBy = (owner: 'A' | 'B') => ({
        sum: `${owner}-PATCHED`,
        owner,
        maxRows: owner === 'A' ? 7 : 9,
        repr: owner === 'A' ? 'array([0.33])' : 'array([0.333])',
        numpyVersion: owner.repeat(String(pristine.numpyVersion).length),
      });
      // The patch took: the probe can see a change when there is one.
      expect(patched.after).toEqual(ownedBy('A'));

      later = await Sandbox.create(options);
      const seenLater = lastJson(
        await inInterpreter(later, `${LIBRARY_PROBE}\nprint(json.dumps(view()))\npatch("B")`),
      );
      expect(seenLater).toEqual(pristine);

      // Both alive, each patched its own way: asked at once, each sees its own changes only.
      const [fromPatcher, fromLater, fromFreshProcess] = await Promise.all([
        inInterpreter(patcher, 'print(json.dumps(view()))'),
        inInterpreter(later, 'print(json.dumps(view()))'),
        inFreshProcess(patcher, `${LIBRARY_PROBE}\nprint(json.dumps(view()))`),
      ]);
      expect(lastJson(fromPatcher)).toEqual(ownedBy('A'));
      expect(lastJson(fromLater)).toEqual(ownedBy('B'));
      // A fresh process of the patched sandbox starts from the pristine libraries too.
      expect(lastJson(fromFreshProcess)).toEqual(pristine);

      latest = await Sandbox.create(options);
      expect(lastJson(await inInterpreter(latest, `${LIBRARY_PROBE}\nprint(json.dumps(view()))`))).toEqual(
        pristine,
      );
    } finally {
      await Promise.all(
        [patcher.kill(), later?.kill(), latest?.kill()].map((kill) => kill?.catch(() => undefined)),
      );
    }
  });
});

describe("a sandbox cannot read another sandbox's memory or files", () => {
  it("process_vm_readv and /proc/<pid>/mem of every pid it could name fail, and the other's workspace is out of reach", async () => {
    const held = lastJson<{ pid: number; address: number; readable: boolean }>(
      await inInterpreter(
        second,
        [
          'import ctypes, json, os',
          `held_secret = bytearray(${JSON.stringify(SECRET)}.encode())`,
          'held_address = ctypes.addressof((ctypes.c_char * len(held_secret)).from_buffer(held_secret))',
          'print(json.dumps({"pid": os.getpid(), "address": held_address, "readable": ctypes.string_at(held_address, len(held_secret)) == bytes(held_secret)}))',
        ].join('\n'),
      ),
    );
    // The secret is where the attacker will look: the victim reads it there itself.
    expect(held.readable).toBe(true);
    await second.files.write('/workspace/second-private.txt', SECRET);
    const privateOnHost = (await filesUnder(baseDirectory)).filter((file) =>
      file.endsWith('/workspace/second-private.txt'),
    );
    expect(privateOnHost).toHaveLength(1);
    const otherHost = await hostProcessesOf(second);
    // Its host pids, its pid inside its namespace, and every small pid a namespace hands out.
    const candidates = [
      ...new Set([...otherHost, held.pid, ...Array.from({ length: 64 }, (_, index) => index + 1)]),
    ];
    const outcome = await inInterpreter(
      first,
      [
        'import ctypes, json, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'class IoVector(ctypes.Structure):',
        '    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]',
        `secret = ${JSON.stringify(SECRET)}.encode()`,
        `address = ${held.address}`,
        'results = {}',
        `for pid in ${JSON.stringify(candidates)}:`,
        '    if pid == os.getpid(): continue',
        '    buffer = ctypes.create_string_buffer(len(secret))',
        '    local = IoVector(ctypes.cast(buffer, ctypes.c_void_p), len(secret))',
        '    remote = IoVector(address, len(secret))',
        '    count = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)',
        '    results["vm %d" % pid] = os.strerror(ctypes.get_errno()) if count < 0 else ("SECRET" if buffer.raw == secret else "other bytes")',
        '    try:',
        '        with open("/proc/%d/mem" % pid, "rb") as memory:',
        '            memory.seek(address)',
        '            results["mem %d" % pid] = "SECRET" if memory.read(len(secret)) == secret else "other bytes"',
        '    except (OSError, ValueError, OverflowError) as error:',
        '        results["mem %d" % pid] = type(error).__name__',
        'for path in [' +
          JSON.stringify(privateOnHost[0]) +
          '] + ["/proc/%d/root/workspace/second-private.txt" % pid for pid in range(1, 64)]:',
        '    try:',
        '        results[path] = "SECRET" if secret in open(path, "rb").read() else "other bytes"',
        '    except OSError as error:',
        '        pass',
        'print(json.dumps(results))',
      ].join('\n'),
    );
    const results = lastJson<Record<string, string>>(outcome);
    expect(Object.entries(results).filter(([, value]) => value === 'SECRET')).toEqual([]);
    // The other sandbox's host pids do not exist for it.
    for (const pid of otherHost) {
      // Out of its pid namespace (ESRCH), or refused outright by the seccomp filter (EPERM).
      expect(['No such process', 'Operation not permitted']).toContain(results[`vm ${pid}`]);
      expect(results[`mem ${pid}`]).toBe('FileNotFoundError');
    }
    expect(results[privateOnHost[0]!]).toBeUndefined();
    // The victim still holds its secret, untouched.
    expect(
      await inInterpreter(second, `print(bytes(held_secret) == ${JSON.stringify(SECRET)}.encode())`),
    ).toBe('True\n');
  });
});

describe('as root, sandboxes run as distinct host uids', () => {
  it("every process of a sandbox, its holder included, runs as that sandbox's own unprivileged host uid, shared with no other sandbox", async () => {
    if (process.getuid?.() !== 0)
      throw new Error('This test checks host uids as root: run the test command as root.');
    const uidsOf = async (sandbox: Sandbox) => {
      const uids = new Set<string>();
      for (const pid of await hostProcessesOf(sandbox)) {
        const line = await statusField(pid, 'Uid');
        // Real, effective, saved and file-system uid.
        if (line !== undefined) for (const uid of line.split(/\s+/)) uids.add(uid);
      }
      return [...uids];
    };
    const [firstUids, secondUids] = await Promise.all([uidsOf(first), uidsOf(second)]);
    expect(firstUids).toHaveLength(1);
    expect(secondUids).toHaveLength(1);
    expect(firstUids[0]).not.toBe(secondUids[0]);
    for (const uid of [...firstUids, ...secondUids]) {
      expect(Number(uid)).toBeGreaterThanOrEqual(1000);
      expect(Number(uid)).not.toBe(process.getuid?.());
    }
  });
});

describe("a sandbox's memory limit binds its interpreter", () => {
  // server-attacks.test.ts covers a fresh process past the limit; this is the interpreter, the process a
  // fork server would hand out, whose inherited pages must be charged to the sandbox too.
  it('an interpreter allocating past limits.memoryBytes is killed with a message naming the limit; other sandboxes keep working', async () => {
    const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
    const bomber = await Sandbox.create(options);
    try {
      await inInterpreter(bomber, 'import numpy, pandas, matplotlib');
      const bomb = await bomber.runIpython(
        'chunks = []\nfor index in range(64):\n    chunks.append(bytearray(16 * 2**20))\nprint("ALLOCATED 1 GiB")',
        { timeout: 60 },
      );
      expect(bomb.stdout ?? '').not.toContain('ALLOCATED');
      expect(bomb.exit_code).toBe(137);
      expect(bomb.stderr).toMatch(new RegExp(`memory limit of ${MEMORY_LIMIT_MIB} MiB`));
      expect(await inInterpreter(first, 'print(6 * 7)')).toBe('42\n');
    } finally {
      await bomber.kill().catch(() => undefined);
    }
  });
});
