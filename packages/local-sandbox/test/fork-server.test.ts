import { readdir, readFile } from 'node:fs/promises';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Sandboxes forked from a template's fork server (runtime/fork_server.py): the template's modules
 * are already imported, and each sandbox still has its own namespaces, uid, capabilities (none),
 * seccomp filter and memory. The rootless test runs this file as an ordinary user too.
 */

const isRoot = process.getuid?.() === 0;
let server: LocalSandboxServer;
const logged: string[] = [];
/** Woken at every log line. */
const logWaiters: (() => void)[] = [];
const sandboxes: Sandbox[] = [];

async function create(template = 'code-interpreter'): Promise<Sandbox> {
  const sandbox = await Sandbox.create({ template, apiKey: server.apiKey, baseURL: server.baseURL });
  sandboxes.push(sandbox);
  return sandbox;
}

async function python(sandbox: Sandbox, code: string): Promise<string> {
  const outcome = await sandbox.runCode(code, { language: 'python', timeout: 60 });
  expect(outcome.stderr ?? '').toBe('');
  return outcome.stdout ?? '';
}

/** Host pids of this process's fork servers (their command line is the runtime's bootstrap). */
async function forkServerPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await childPids(process.pid)) {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes('import fork_server')) pids.push(pid);
  }
  return pids;
}

async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    children.push(...text.split(/\s+/).filter(Boolean).map(Number));
  }
  return children;
}

/** The `Uid:` line's real uid of a host process. */
async function hostUid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

beforeAll(async () => {
  server = await startLocalSandboxServer({
    isolation: 'bubblewrap',
    log: (message) => {
      logged.push(message);
      for (const wake of logWaiters.splice(0)) wake();
    },
  });
});

afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.kill().catch(() => undefined)));
  await server?.close();
});

describe('sandboxes forked from a fork server', () => {
  it("has the template's modules imported before any import, in runs and in the interpreter", async () => {
    const sandbox = await create();
    const check =
      "import sys\nprint('pandas' in sys.modules, 'numpy' in sys.modules, 'matplotlib.pyplot' in sys.modules)";
    expect(await python(sandbox, check)).toBe('True True True\n');
    const frame = await python(sandbox, "import pandas\nprint(pandas.DataFrame({'a': [1, 2, 3]}).a.sum())");
    expect(frame).toBe('6\n');
    const base = await create('base');
    expect(await python(base, "import sys\nprint('pandas' in sys.modules)")).toBe('False\n');
    expect(logged.some((line) => /fork server for template code-interpreter ready/.test(line))).toBe(true);
  });

  it('runs user code with no capability, no_new_privs and the seccomp filter', async () => {
    const sandbox = await create();
    const status = await python(sandbox, "print(open('/proc/self/status').read())");
    for (const field of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
      expect(status).toMatch(new RegExp(`^${field}:\\s+0000000000000000$`, 'm'));
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    // Nothing names a host path: the runtime's modules are at /opt/hopgen as a sandbox sees them.
    const paths = await python(
      sandbox,
      "import sys, runner, zygote\nprint(runner.__file__, zygote.main.__code__.co_filename, [p for p in sys.path if p and not p.startswith(('/opt/hopgen', '/usr'))])",
    );
    expect(paths).toBe('/opt/hopgen/runner.py /opt/hopgen/zygote.py []\n');
    const environment = await python(sandbox, "print(open('/proc/self/environ', 'rb').read().decode())");
    expect(environment).not.toMatch(/hopgen-sandboxes-|\.fork-servers/);
  });

  it('gives two sandboxes of one fork server different host uids (as root)', async () => {
    const [first, second] = await Promise.all([create(), create()]);
    await Promise.all([python(first, 'print(1)'), python(second, 'print(1)')]);
    // Each sandbox's zygote is a child of the fork server itself (cloned with CLONE_PARENT by the
    // short-lived process that joined the sandbox): no process of the sandbox waits outside it.
    // Its only other child is the spare joiner forked ahead of the next request, still on the host.
    const zygotes: number[] = [];
    for (const forkServer of await forkServerPids()) {
      let spares = 0;
      for (const child of await childPids(forkServer)) {
        // A zygote is in the sandbox's pid namespace (a pid there too), not the host's.
        const status = await readFile(`/proc/${child}/status`, 'utf8');
        if ((/^NSpid:((?:\s+\d+)+)$/m.exec(status)?.[1]?.trim().split(/\s+/).length ?? 0) > 1)
          zygotes.push(child);
        else spares++;
      }
      expect(spares).toBeLessThanOrEqual(1);
    }
    const uids = new Set(await Promise.all(zygotes.map(hostUid)));
    expect(zygotes.length).toBeGreaterThanOrEqual(2);
    if (isRoot) {
      expect(uids.size).toBe(zygotes.length);
      for (const uid of uids) expect(uid).toBeGreaterThanOrEqual(1_900_000_000);
    } else {
      expect([...uids]).toEqual([process.getuid?.()]);
    }
  });

  it('keeps what one sandbox changes in shared modules and memory out of the next sandbox', async () => {
    const attacker = await create();
    const version = (await python(attacker, 'import pandas\nprint(pandas.__version__)')).trim();
    const tampered = await python(
      attacker,
      [
        'import ctypes, sys, pandas',
        'pandas.DataFrame.sum = lambda self, *args, **kwargs: "tampered"',
        // Writes into the bytes of a string object the fork server made (a shared page until written).
        'text = pandas.__version__',
        'data = id(text) + sys.getsizeof(text) - len(text) - 1',
        'ctypes.memmove(data, b"X" * len(text), len(text))',
        'print(pandas.__version__, pandas.DataFrame({"a": [1]}).sum())',
      ].join('\n'),
    );
    expect(tampered).toBe(`${'X'.repeat(version.length)} tampered\n`);
    const next = await create();
    const clean = await python(
      next,
      'import pandas\nprint(pandas.__version__, int(pandas.DataFrame({"a": [1, 2]}).sum().a))',
    );
    expect(clean).toBe(`${version} 3\n`);
  });

  it('notices a fork server that dies: running sandboxes go on, the next one comes from a new fork server', async () => {
    const before = await create();
    expect(await python(before, 'x = 41\nprint(x + 1)')).toBe('42\n');
    const killed = await forkServerPids();
    expect(killed.length).toBe(2);
    for (const pid of killed) process.kill(pid, 'SIGKILL');
    await waitFor(() => logged.filter((line) => /fork server for template .* exited/.test(line)).length >= 2);
    expect(await python(before, "import sys\nprint('pandas' in sys.modules)")).toBe('True\n');
    const after = await create();
    expect(await python(after, "import sys\nprint('pandas' in sys.modules)")).toBe('True\n');
    const restarted = await forkServerPids();
    expect(restarted.some((pid) => !killed.includes(pid))).toBe(true);
  });
});

/** Resolves once `condition` holds, checked at every log line. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => logWaiters.push(resolve));
}
