import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './helpers/local-server.js';
import { hostPidsWithCommandLine } from './support/sandbox-process.js';

/**
 * Hostile sandboxed code and hostile clients against the protocol server itself (its file routes,
 * its pipes to the sandbox, its request parsing), through the real SDK or raw HTTP and WebSocket on
 * 127.0.0.1. Every test checks the host or a second sandbox from the outside afterwards.
 */

const MiB = 1024 * 1024;

let server: TestServer;
let attacker: Sandbox;
let bystander: Sandbox;
let hostDirectory: string;

beforeAll(async () => {
  server = await startTestServer({
    limits: { memoryBytes: 256 * MiB, pids: 128, tmpBytes: 32 * MiB, workspaceBytes: 64 * MiB },
  });
  [attacker, bystander] = await Promise.all([server.create(), server.create()]);
  hostDirectory = await mkdtemp(path.join(tmpdir(), 'hopgen-victim-'));
  await chmod(hostDirectory, 0o755);
});

afterAll(async () => {
  await attacker?.kill().catch(() => undefined);
  await bystander?.kill().catch(() => undefined);
  await server?.close();
  if (hostDirectory) await rm(hostDirectory, { recursive: true, force: true });
});

function agentURL(sandbox: Sandbox, route: string): string {
  return `${server.baseURL}/sandboxes/${sandbox.sandboxId}${route}`;
}

function authorization(): Record<string, string> {
  return { Authorization: `Bearer ${server.apiKey}` };
}

/** Sends a request to a sandbox's agent; answers status and parsed JSON (or null). */
async function agent(
  sandbox: Sandbox,
  route: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const response = await fetch(agentURL(sandbox, route), {
    method: init.method ?? 'GET',
    headers: { ...authorization(), 'content-type': 'application/json' },
    ...(init.body !== undefined
      ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }
      : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 20_000),
  });
  const text = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

/** Opens `/execute/stream` of a sandbox, sends `frames` and collects every frame until the socket closes. */
async function streamFrames(
  sandbox: Sandbox,
  frames: string[],
  timeoutMs = 30_000,
): Promise<Record<string, unknown>[]> {
  const url = `${server.baseURL.replace('http', 'ws')}/sandboxes/${sandbox.sandboxId}/execute/stream`;
  const socket = new WebSocket(url, { headers: authorization() });
  const received: Record<string, unknown>[] = [];
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), timeoutMs);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      received.push(frame);
      if (frame.type === 'complete') socket.close();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    for (const frame of frames) socket.send(frame);
  });
}

/** Server health, answered at all (a crashed server refuses the connection). */
async function serverHealthy(): Promise<boolean> {
  const response = await fetch(`${server.baseURL}/health`, { signal: AbortSignal.timeout(5000) });
  return response.status === 200;
}

describe('WebSocket frames from a hostile client', () => {
  it('answers a malformed execute frame with an error frame and keeps serving', async () => {
    const cases: [string, string][] = [
      [
        JSON.stringify({ type: 'execute', code: 'print(1)', language: 'python', env: { A: 1 } }),
        'INVALID_REQUEST',
      ],
      [JSON.stringify({ type: 'execute', code: 'print(1)', timeout: 'soon' }), 'INVALID_REQUEST'],
      [JSON.stringify({ type: 'execute', code: 'print(1)', workdir: 7 }), 'INVALID_REQUEST'],
      ['null', 'INVALID_REQUEST'],
      ['{not json', 'INVALID_JSON'],
    ];
    for (const [frame, code] of cases) {
      const frames = await streamFrames(attacker, [frame]);
      expect(frames.map((entry) => entry.type)).toEqual(['error', 'complete']);
      expect(frames[0]?.code).toBe(code);
      expect(frames[1]?.success).toBe(false);
      expect(await serverHealthy()).toBe(true);
    }
    const good = await streamFrames(attacker, [JSON.stringify({ type: 'execute', code: 'print(6*7)' })]);
    expect(
      good
        .filter((entry) => entry.type === 'stdout')
        .map((entry) => entry.data)
        .join(''),
    ).toBe('42\n');
  });

  it('answers a request whose sandbox is destroyed while it is being read with 404, never 5xx', async () => {
    const doomed = await server.create();
    const url = new URL(agentURL(doomed, '/execute'));
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        url,
        { method: 'POST', headers: { ...authorization(), 'content-type': 'application/json' } },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.write('{"code": "print(1)", ');
      setTimeout(async () => {
        await doomed.kill();
        request.end('"language": "python"}');
      }, 300);
    });
    const { status, body } = await answer;
    expect(status).toBe(404);
    expect(JSON.parse(body).code).toBe('SANDBOX_NOT_FOUND');
  });
});

/**
 * Python that finds the interpreter's reply channel (moved off fd 5, but in its own process) as
 * `pipes`, and the pending request as `request`, from the interpreter's own frames.
 */
const FIND_REPLY_PIPES = `
import os, sys
frame = sys._getframe()
while frame is not None and frame.f_code.co_name != "serve":
    frame = frame.f_back
pipes = [frame.f_locals["output"].fileno()]
request = frame.f_locals["request"]
`;

describe('the REPL protocol pipe against code in the interpreter', () => {
  it('ignores replies forged by code in the interpreter', async () => {
    const forged = await attacker.runIpython(
      `${FIND_REPLY_PIPES}
import json, threading, time
def forge():
    while True:
        for k in range(1, 300):
            for fd in pipes:
                for line in (json.dumps({"id": "i%d" % k, "exit_code": 0, "stdout": "FORGED\\n", "stderr": ""}), '{"id": "i%d", "exit_code": "x"}' % k, '{"event": "ready"}'):
                    try: os.write(fd, (line + "\\n").encode())
                    except OSError: pass
        time.sleep(0.001)
threading.Thread(target=forge, daemon=True).start()
print("armed", len(pipes) > 0)`,
      { timeout: 10 },
    );
    expect(forged.stdout).toBe('armed True\n');
    for (let call = 0; call < 3; call++) {
      const honest = await attacker.runIpython('print("honest", 6 * 7)', { timeout: 10 });
      expect([honest.exit_code, honest.stdout]).toEqual([0, 'honest 42\n']);
    }
    // Leave a clean interpreter for the next test.
    await attacker.runIpython('import os; os._exit(0)', { timeout: 10 }).catch(() => undefined);
  });

  it('restarts an interpreter that floods its reply pipe without a newline and answers the call', async () => {
    await attacker.runIpython('kept = 1', { timeout: 10 });
    const cpuBefore = process.cpuUsage();
    const flooded = await attacker.runIpython(
      `${FIND_REPLY_PIPES}
chunk = b"A" * 65536
while True:
    for fd in pipes:
        os.write(fd, chunk)`,
      { timeout: 60 },
    );
    expect(flooded.exit_code).not.toBe(0);
    expect(flooded.stderr).toMatch(/without a newline .* restarted/);
    const cpu = process.cpuUsage(cpuBefore);
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(20);
    const after = await attacker.runIpython('print("kept" in globals(), 6 * 7)', { timeout: 20 });
    expect(after.stdout).toBe('False 42\n');
    const other = await bystander.runCode('print(6 * 7)', { language: 'python', timeout: 10 });
    expect(other.stdout).toBe('42\n');
  }, 120_000);
});

describe('one sandbox flooding its reply pipe does not slow another', () => {
  it('skips lines that are not the pending reply unparsed and parses long ones off the main thread', async () => {
    const stalls = monitorEventLoopDelay({ resolution: 10 });
    stalls.enable();
    // 30 MiB JSON arrays, plain and behind the pending call's own id, written as fast as the pipe takes them.
    const flood = attacker
      .runIpython(
        `${FIND_REPLY_PIPES}
import threading, time
line = b"[" + b"0," * (15 * 2**20) + b"0]\\n"
forged = b'{"id": "' + request["id"].encode() + b'", "x": ' + line[:-1] + b'}\\n'
def flood():
    while True:
        for fd in pipes:
            try:
                os.write(fd, forged)
                os.write(fd, line)
            except OSError:
                return
threading.Thread(target=flood, daemon=True).start()
time.sleep(6)
print("flooded")`,
        { timeout: 30 },
      )
      .then(
        (result) => ({ done: true, exitCode: result.exit_code }),
        (error: unknown) => ({ done: true, exitCode: String(error) }),
      );
    const answers: string[] = [];
    const startedAt = Date.now();
    while (Date.now() - startedAt < 8000) {
      const result = await bystander.runCode('print(6 * 7)', { language: 'python', timeout: 30 });
      answers.push(result.stdout ?? '');
    }
    const attack = await flood;
    stalls.disable();
    expect(attack.done).toBe(true);
    expect(answers.length).toBeGreaterThan(5);
    expect(answers.every((answer) => answer === '42\n')).toBe(true);
    // Parsing one 30 MiB line on the main thread stalls it for about half a second here.
    expect(stalls.max / 1e6).toBeLessThan(400);
    // The flooding interpreter is restarted at the latest at its next call, and then answers again.
    await attacker.runIpython('print(1)', { timeout: 30 }).catch(() => undefined);
    const after = await attacker.runIpython('print(6 * 7)', { timeout: 30 });
    expect(after.stdout).toBe('42\n');
  }, 90_000);
});

describe('the stateful interpreter under hostile code', () => {
  it('gives input() an empty stdin: EOFError at once, and no thread can read the next cell', async () => {
    const started = Date.now();
    const asked = await attacker.runIpython('input("name? ")', { timeout: 20 });
    expect(asked.stderr).toContain('EOFError');
    expect(asked.exit_code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await attacker.runIpython(
      `import os, sys, threading
stolen = []
threading.Thread(target=lambda: stolen.append(os.read(0, 1 << 20)), daemon=True).start()`,
      { timeout: 10 },
    );
    const next = await attacker.runIpython('print("cell", 6 * 7)', { timeout: 10 });
    expect([next.exit_code, next.stdout]).toEqual([0, 'cell 42\n']);
    const read = await attacker.runIpython('print(stolen)', { timeout: 10 });
    expect(read.stdout).toBe("[b'']\n");
  });

  it('returns what a cell printed before its interpreter was killed', async () => {
    const killed = await attacker.runIpython(
      'import os, sys\nprint("printed before", flush=True)\nos.write(2, b"error before\\n")\nos.kill(os.getpid(), 9)',
      { timeout: 20 },
    );
    expect(killed.exit_code).toBe(137);
    expect(killed.stdout).toBe('printed before\n');
    expect(killed.stderr).toMatch(/^error before\n/);
    expect(killed.stderr).toContain('The Python interpreter exited');
    // The next cell gets a fresh interpreter and none of the dead one's output.
    const after = await attacker.runIpython('print(6 * 7)', { timeout: 20 });
    expect([after.exit_code, after.stdout]).toEqual([0, '42\n']);
  });

  it('keeps the end of a cell that printed more than the 4 MiB cap', async () => {
    const big = await attacker.runIpython(
      'import sys\nsys.stdout.write("x" * (5 * 2**20))\nprint()\nprint("the end")',
      { timeout: 30 },
    );
    expect(big.exit_code).toBe(0);
    expect(big.stdout?.length).toBeLessThan(4 * MiB + 200);
    expect(big.stdout).toMatch(/\[output truncated: \d+ bytes left out\]/);
    expect(big.stdout?.endsWith('x\nthe end\n')).toBe(true);
  });
});

describe('a timed-out run', () => {
  it('answers 408 with what the run printed before it was killed, stateful or not', async () => {
    for (const route of ['/execute', '/execute/ipython']) {
      const timedOut = await agent(attacker, route, {
        method: 'POST',
        body: {
          code: 'import signal, sys, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})\nprint("partial", flush=True)\nsys.stderr.write("warned\\n")\ntime.sleep(60)',
          language: 'python',
          timeout: 1,
        },
      });
      expect(timedOut.status).toBe(408);
      expect(timedOut.body).toMatchObject({ code: 'EXECUTION_TIMEOUT', stdout: 'partial\n' });
      expect(String(timedOut.body?.stderr)).toMatch(/^warned\n/);
    }
  });
});

describe('limits fail the run that hits them, not the sandbox', () => {
  it('refuses runs past the pids limit with a message naming it; the interpreter keeps its variables', async () => {
    await attacker.runIpython('survivor = 6 * 7', { timeout: 20 });
    const runs = await Promise.all(
      Array.from({ length: 150 }, () =>
        attacker
          .runCode('import time\ntime.sleep(4)\nprint("slept")', { language: 'python', timeout: 60 })
          .then(
            (result) => ({
              exitCode: result.exit_code,
              stdout: result.stdout ?? '',
              stderr: result.stderr ?? '',
            }),
            (error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }),
          ),
      ),
    );
    const refused = runs.filter((run) => /process limit \(pids: 128\)/.test(run.stderr));
    expect(refused.length).toBeGreaterThan(0);
    for (const run of refused) expect(run.exitCode).toBe(1);
    // Every other run either finished or was the memory limit's victim, named as such.
    for (const run of runs.filter((entry) => !refused.includes(entry))) {
      if (run.stdout !== 'slept\n') expect(run.stderr).toMatch(/memory limit of 256 MiB/);
    }
    expect(runs.some((run) => run.stdout === 'slept\n')).toBe(true);
    expect(runs.filter((run) => /process server stopped/.test(run.stderr))).toEqual([]);
    const kept = await attacker.runIpython('print(survivor)', { timeout: 20 });
    expect(kept.stdout).toBe('42\n');
  }, 90_000);

  it("keeps every line when a run's processes print at once", async () => {
    // They share the run's output memfd, whose position is not locked across writers: without
    // O_APPEND they wrote at the same offsets (6,233 of 8,000 lines were kept in one run here).
    const code = [
      'import os',
      'children = []',
      'for worker in range(4):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        for line in range(2000):',
      '            os.write(1, b"%d %d\\n" % (worker, line))',
      '        os._exit(0)',
      '    children.append(pid)',
      'for pid in children:',
      '    os.waitpid(pid, 0)',
    ].join('\n');
    const run = await attacker.runCode(code, { language: 'python', timeout: 30 });
    expect(run.exit_code).toBe(0);
    expect(run.stdout.split('\n').filter((line: string) => line !== '').length).toBe(8000);
  }, 40_000);

  it("a run is the out-of-memory killer's first choice, before the sandbox's process server", async () => {
    // Written by the run itself; it failed silently while the run was not dumpable yet (rootless:
    // its /proc files then belong to an unmapped root), leaving runs tied with the process server.
    const run = await attacker.runCode('print(open("/proc/self/oom_score_adj").read().strip())', {
      language: 'python',
      timeout: 20,
    });
    expect(run.stdout).toBe('1000\n');
  }, 30_000);

  it('an out-of-memory run is killed with a message naming the memory limit; the interpreter survives', async () => {
    await attacker.runIpython('survivor = 7', { timeout: 20 });
    const bomb = await attacker.runCode(
      'chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 2**20))',
      { language: 'python', timeout: 30 },
    );
    expect(bomb.exit_code).toBe(137);
    expect(bomb.stderr).toMatch(/out-of-memory killer: the sandbox reached its memory limit of 256 MiB/);
    const kept = await attacker.runIpython('print(survivor)', { timeout: 20 });
    expect(kept.stdout).toBe('7\n');
  }, 60_000);
});

describe('file routes against sandboxed code', () => {
  it('never deletes, lists or creates host files through a directory swapped for a symlink', async () => {
    const victim = path.join(hostDirectory, 'swap-target');
    await rm(victim, { recursive: true, force: true });
    await mkdir(victim, { mode: 0o777 });
    await chmod(victim, 0o777);
    await writeFile(path.join(victim, 'victim'), 'host file');
    await writeFile(path.join(victim, 'secret-host-filename'), 'host file');
    // renameat2(RENAME_EXCHANGE) swaps the directory `d` and a symlink to the host directory, over and over.
    const swapper = `
import os, ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
os.chdir('/workspace')
os.makedirs('d', exist_ok=True)
try: os.symlink(${JSON.stringify(victim)}, 'l')
except FileExistsError: pass
dfd = os.open('d', os.O_RDONLY | os.O_DIRECTORY)
end = time.time() + 25
while time.time() < end:
    for name in ('victim', 'newfile'):
        try: os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd))
        except OSError: pass
    libc.syscall(316, -100, b'd', -100, b'l', 2)
`;
    const started = await attacker.runCodeBackground(swapper, { language: 'python', timeout: 40 });
    expect(started.process_id).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const statuses = new Set<number>();
    let leaked = false;
    const deadline = Date.now() + 15_000;
    for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt++) {
      const removed = await agent(attacker, '/files/remove?path=/workspace/d/victim', { method: 'DELETE' });
      const listed = await agent(attacker, '/files/list?path=/workspace/d');
      const written = await agent(attacker, '/files/write', {
        method: 'POST',
        body: { path: `/workspace/d/created-${attempt}`, content: 'x' },
      });
      for (const status of [removed.status, listed.status, written.status]) statuses.add(status);
      if (JSON.stringify(listed.body).includes('secret-host-filename')) leaked = true;
      if (!existsSync(path.join(victim, 'victim')) || leaked) break;
    }
    expect(existsSync(path.join(victim, 'victim'))).toBe(true);
    expect(leaked).toBe(false);
    expect(readdirSync(victim).sort()).toEqual(['secret-host-filename', 'victim']);
    expect([...statuses].filter((status) => status >= 500)).toEqual([]);
    await agent(attacker, `/execute/kill?process_id=${started.process_id}`, { method: 'DELETE' });
  }, 60_000);

  it('refuses to read or write FIFOs and stays responsive for other sandboxes', async () => {
    const made = await attacker.runCode(
      "import os\nfor i in range(6): os.mkfifo('/workspace/fifo%d' % i)\nprint('ok')",
      { language: 'python', timeout: 10 },
    );
    expect(made.stdout).toBe('ok\n');
    const reads = await Promise.all(
      [0, 1, 2, 3, 4].map((index) =>
        agent(attacker, `/files/read?path=/workspace/fifo${index}`, { timeoutMs: 5000 }),
      ),
    );
    for (const read of reads) {
      expect(read.status).toBe(400);
      expect(read.body?.code).toBe('INVALID_PATH');
    }
    const download = await fetch(agentURL(attacker, '/files/download?path=/workspace/fifo5'), {
      headers: authorization(),
      signal: AbortSignal.timeout(5000),
    });
    expect(download.status).toBe(400);
    const write = await agent(attacker, '/files/write', {
      method: 'POST',
      body: { path: '/workspace/fifo5', content: 'x' },
      timeoutMs: 5000,
    });
    expect(write.status).toBe(400);
    await bystander.files.write('/workspace/after-fifo.txt', 'still served');
    expect(await bystander.files.read('/workspace/after-fifo.txt')).toBe('still served');
  });
});

describe("file routes under their own client's load", () => {
  it('refuses to read a sparse file as JSON and streams its download without holding it', async () => {
    const made = await attacker.runCode(
      "f = open('/workspace/sparse', 'wb')\nf.truncate(200 * 2**20)\nf.close()\nimport os\nprint(os.stat('/workspace/sparse').st_blocks)",
      { language: 'python', timeout: 20 },
    );
    expect(made.stdout).toBe('0\n');
    const read = await agent(attacker, '/files/read?path=/workspace/sparse');
    expect(read.status).toBe(413);
    expect(String(read.body?.message)).toMatch(/files\.download/);
    const before = process.memoryUsage().rss;
    let peak = before;
    const response = await fetch(agentURL(attacker, '/files/download?path=/workspace/sparse'), {
      headers: authorization(),
      signal: AbortSignal.timeout(60_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(200 * MiB));
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(received).toBe(200 * MiB);
    // Buffered, the 200 MiB would be in this process at once (the server runs in it).
    expect((peak - before) / MiB).toBeLessThan(120);
  }, 60_000);

  it('pages a listing of 20,000 files and of 5,000 long names instead of failing', async () => {
    const made = await attacker.runCode(
      [
        'import os',
        "for d, count, width in (('many', 20000, 8), ('long', 5000, 240)):",
        "    os.makedirs('/workspace/' + d, exist_ok=True)",
        '    for i in range(count):',
        "        open('/workspace/%s/%s' % (d, str(i).zfill(width)), 'w').close()",
        "print('made')",
      ].join('\n'),
      { language: 'python', timeout: 60 },
    );
    expect(made.stdout).toBe('made\n');
    for (const [directory, count] of [
      ['many', 20_000],
      ['long', 5_000],
    ] as const) {
      const first = await attacker.files.list(`/workspace/${directory}`);
      expect(first.length).toBeGreaterThan(0);
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const query = `path=/workspace/${directory}&limit=4000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await agent(attacker, `/files/list?${query}`);
        expect(page.status).toBe(200);
        names.push(...(page.body?.files as { name: string }[]).map((file) => file.name));
        cursor = (page.body?.next_cursor as string | null) ?? null;
        expect(page.body?.has_more).toBe(cursor !== null);
      } while (cursor !== null);
      expect(names.length).toBe(count);
      expect(new Set(names).size).toBe(count);
      expect(names).toEqual([...names].sort());
    }
    await attacker.runCode(
      "import shutil\nshutil.rmtree('/workspace/many')\nshutil.rmtree('/workspace/long')",
      {
        language: 'python',
        timeout: 60,
      },
    );
  }, 120_000);

  it('answers 1,000 concurrent reads of one sandbox, all of them, while another sandbox is served', async () => {
    await attacker.files.write('/workspace/small.txt', 'small file');
    const reads = Array.from({ length: 1000 }, () =>
      agent(attacker, '/files/read?path=/workspace/small.txt', { timeoutMs: 60_000 }),
    );
    await bystander.files.write('/workspace/during.txt', 'served');
    expect(await bystander.files.read('/workspace/during.txt')).toBe('served');
    const answers = await Promise.all(reads);
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => answer.status)).toEqual([]);
    expect(answers.every((answer) => answer.body?.content === 'small file')).toBe(true);
  }, 90_000);
});

describe('client and sandbox conditions are 4xx, never 5xx', () => {
  it('downloads a file with a non-Latin-1 name with an RFC 5987 filename', async () => {
    const made = await attacker.runCode("open('/workspace/数据 \"x\".txt', 'w').write('hello')", {
      language: 'python',
      timeout: 10,
    });
    expect(made.exit_code).toBe(0);
    const response = await fetch(
      agentURL(attacker, `/files/download?path=${encodeURIComponent('/workspace/数据 "x".txt')}`),
      {
        headers: authorization(),
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="__ _x_.txt"; filename*=UTF-8''%E6%95%B0%E6%8D%AE%20%22x%22.txt`,
    );
    expect(await response.text()).toBe('hello');
    expect((await attacker.files.download('/workspace/数据 "x".txt')).toString()).toBe('hello');
  });

  it('answers malformed percent-encoding and malformed JSON with 400', async () => {
    const encoded = await fetch(`${server.baseURL}/sandboxes/%E0%A4%A/health`, { headers: authorization() });
    expect(encoded.status).toBe(400);
    expect(((await encoded.json()) as Record<string, unknown>).code).toBe('INVALID_PATH');
    const killed = await agent(attacker, '/execute/kill/%E0%A4%A', { method: 'POST' });
    expect([killed.status, killed.body?.code]).toEqual([400, 'INVALID_PATH']);
    const json = await agent(attacker, '/files/write', { method: 'POST', body: '{"path": "a", ' });
    expect([json.status, json.body?.code]).toEqual([400, 'INVALID_JSON']);
  });

  it('answers a write to a full workspace with 413, not a 5xx the SDK would retry', async () => {
    const filled = await attacker.runCode(
      "try:\n    open('/workspace/fill.bin', 'wb').write(b'x' * (80 * 1024 * 1024))\nexcept OSError as error:\n    print(error.errno)",
      { language: 'python', timeout: 20 },
    );
    expect(filled.stdout).toBe('28\n');
    const write = await agent(attacker, '/files/write', {
      method: 'POST',
      body: {
        path: '/workspace/more.bin',
        content: Buffer.alloc(2 * MiB, 1).toString('base64'),
        encoding: 'base64',
      },
    });
    expect([write.status, write.body?.code]).toEqual([413, 'FILE_OPERATION_FAILED']);
    await attacker.files.remove('/workspace/fill.bin');
    await attacker.files.remove('/workspace/more.bin').catch(() => undefined);
  });
});

describe('request bodies', () => {
  it('refuses a JSON body above 64 MiB with 413 and a code, and keeps serving', async () => {
    const content = 'a'.repeat(65 * MiB);
    const write = await agent(attacker, '/files/write', {
      method: 'POST',
      body: `{"path": "/workspace/big.txt", "content": "${content}"}`,
      timeoutMs: 60_000,
    });
    expect([write.status, write.body?.code]).toEqual([413, 'INVALID_REQUEST']);
    expect(await attacker.files.exists('/workspace/big.txt')).toBe(false);
    expect(await serverHealthy()).toBe(true);
  });

  it('streams a multipart upload into the workspace', async () => {
    const payload = Buffer.alloc(20 * MiB, 3);
    const form = new FormData();
    form.append('file', new Blob([payload]), 'payload.bin');
    form.append('path', '/workspace/uploads/payload.bin');
    const response = await fetch(agentURL(attacker, '/files/upload'), {
      method: 'POST',
      headers: authorization(),
      body: form,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, unknown>).size).toBe(payload.length);
    const size = await attacker.runCode(
      'import os; print(os.path.getsize("/workspace/uploads/payload.bin"))',
      {
        language: 'python',
      },
    );
    expect(size.stdout).toBe(`${payload.length}\n`);
    await attacker.files.remove('/workspace/uploads');
  });
});

describe('timers beyond 2^31-1 ms', () => {
  it('keeps a sandbox whose TTL is 30 days and runs code with a 30-day timeout', async () => {
    const headers = { ...authorization(), 'X-API-Key': server.apiKey, 'content-type': 'application/json' };
    const ttl = await fetch(`${server.baseURL}/v1/sandboxes/${bystander.sandboxId}/timeout`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ timeout_seconds: 30 * 24 * 3600 }),
    });
    expect(ttl.status).toBe(200);
    const expiresAt = Date.parse(String(((await ttl.json()) as Record<string, unknown>).expires_at));
    expect(expiresAt - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const alive = await fetch(`${server.baseURL}/v1/sandboxes/${bystander.sandboxId}`, { headers });
    expect(alive.status).toBe(200);
    const run = await agent(bystander, '/execute', {
      method: 'POST',
      body: {
        code: 'import time; time.sleep(0.3); print(6 * 7)',
        language: 'python',
        timeout: 30 * 24 * 3600,
      },
    });
    expect([run.status, run.body?.stdout]).toEqual([200, '42\n']);
    const absurd = await fetch(`${server.baseURL}/v1/sandboxes/${bystander.sandboxId}/timeout`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ timeout_seconds: 1e300 }),
    });
    expect(absurd.status).toBe(400);
    const absurdRun = await agent(bystander, '/execute', {
      method: 'POST',
      body: { code: 'print(1)', timeout: 1e300 },
    });
    expect([absurdRun.status, absurdRun.body?.code]).toEqual([400, 'INVALID_REQUEST']);
  });
});

describe('/execute/stream', () => {
  it('stops a run at the 4 MiB output cap', async () => {
    const startedAt = Date.now();
    const frames = await streamFrames(attacker, [
      JSON.stringify({
        type: 'execute',
        code: 'import os, time\nb = b"a" * (1 << 20)\nt = time.time()\nwhile time.time() - t < 20: os.write(1, b)',
        language: 'python',
        timeout: 30,
      }),
    ]);
    const stdout = frames.filter((frame) => frame.type === 'stdout').map((frame) => String(frame.data));
    expect(stdout.join('').length).toBeLessThanOrEqual(4 * MiB);
    expect(frames.some((frame) => frame.type === 'stderr' && /output limit/.test(String(frame.data)))).toBe(
      true,
    );
    expect(frames.at(-1)).toMatchObject({ type: 'complete', success: false });
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  });

  it("never puts a run's environment on a host command line", async () => {
    const secret = `stream-secret-${process.pid}-${Date.now()}`;
    await agent(attacker, '/files/remove?path=/workspace/stream-started', { method: 'DELETE' });
    const frames = streamFrames(attacker, [
      JSON.stringify({
        type: 'execute',
        code: 'import os, time\nopen("/workspace/stream-started", "w").close()\nprint(os.environ["STREAM_SECRET"], os.environ["HOME"])\ntime.sleep(3)',
        language: 'python',
        env: { STREAM_SECRET: secret },
        timeout: 30,
      }),
    ]);
    let started = false;
    while (!started) started = (await attacker.files.exists('/workspace/stream-started')) === true;
    expect(await hostPidsWithCommandLine(secret)).toEqual([]);
    const received = await frames;
    const stdout = received.filter((frame) => frame.type === 'stdout').map((frame) => String(frame.data));
    expect(stdout.join('')).toBe(`${secret} /workspace\n`);
    expect(received.at(-1)).toMatchObject({ type: 'complete', success: true });
  });

  it('streams bash code', async () => {
    const frames = await streamFrames(attacker, [
      JSON.stringify({ type: 'execute', code: 'echo hi\necho $((6 * 7))', language: 'bash', timeout: 10 }),
    ]);
    expect(
      frames
        .filter((frame) => frame.type === 'stdout')
        .map((frame) => frame.data)
        .join(''),
    ).toBe('hi\n42\n');
    expect(frames.find((frame) => frame.type === 'result')?.exit_code).toBe(0);
    expect(frames.at(-1)).toMatchObject({ type: 'complete', success: true });
  });
});
