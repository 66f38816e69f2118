import { spawn } from 'node:child_process';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import type { FigureSet } from './figures.js';
import { liveHeapBytes } from './heap.js';
import { withBenchServer } from './local-server.js';
import {
  anyMaps,
  commandNameOf,
  descendantsOf,
  type GroupMemory,
  memoryByCgroup,
  proportionalBytes,
  residentBytes,
} from './proc-memory.js';
import { SYSTEM_PYTHON } from './processes.js';
import type { BenchSettings } from './settings.js';
import { PANDAS } from './snippets.js';
import { createScriptedPair } from './two-agent-chat.js';

const MEBIBYTE = 1024 * 1024;
/** Issue 18: proportional memory of an idle sandbox with pandas imported, MiB at p50. */
const TARGET_PANDAS_SANDBOX_MEBIBYTES = 15;
/** What the server's warm pool imports into every pooled interpreter. */
const POOL_PRELOAD = 'import numpy, pandas, matplotlib, matplotlib.pyplot';
/** A request log of every prompt grows with the square of the chat, so the chat that keeps one is shorter. */
const MAX_MESSAGES_WITH_REQUEST_LOG = 2000;

/** VmRSS of `count` idle host Python processes that ran `preamble`, bytes each. */
async function idlePythonResident(count: number, preamble: string): Promise<number[]> {
  const children = Array.from({ length: count }, () =>
    spawn(SYSTEM_PYTHON, ['-c', `${preamble}\nimport sys\nprint('ready', flush=True)\nsys.stdin.read()`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.once('error', reject);
            child.once('exit', (code) => reject(new Error(`idle python exited ${code}`)));
            child.stdout.once('data', () => resolve());
          }),
      ),
    );
    return children.map((child) => residentBytes(child.pid!));
  } finally {
    for (const child of children) {
      child.removeAllListeners('exit');
      child.stdin.end();
      child.kill('SIGKILL');
    }
  }
}

/** Whether a group of processes is a sandbox: every sandbox's memory cgroup holds its bubblewrap holder. */
function holdsSandbox(group: GroupMemory): boolean {
  return !group.key.startsWith('pid:') && group.pids.some((pid) => commandNameOf(pid) === 'bwrap');
}

/** Whether the group's processes have pandas loaded. */
const pandasLoaded = (group: GroupMemory) => anyMaps(group.pids, '/pandas/');

/**
 * Per-sandbox memory of the sandboxes now alive under this process, optionally only those whose
 * processes have pandas loaded; fails unless there are `expected`.
 */
function sandboxGroups(expected: number, filter: (group: GroupMemory) => boolean = () => true) {
  const groups = memoryByCgroup(process.pid).filter((group) => holdsSandbox(group) && filter(group));
  if (groups.length !== expected) {
    throw new Error(
      `expected ${expected} sandbox cgroups under this process, found ${groups.length} (${groups.map((group) => `${group.key}: ${group.pids.join(' ')}`).join('; ')}); cannot attribute memory per sandbox`,
    );
  }
  return groups;
}

/**
 * PSS of the server's processes that are in no sandbox but have pandas loaded, bytes: a fork server
 * that new sandboxes are copied from, if the server has one (0 when it has none). Its proportional
 * memory belongs to the sandboxes that share its pages.
 */
function forkServerProportionalBytes(sandboxes: readonly GroupMemory[]): number {
  const inSandboxes = new Set(sandboxes.flatMap((group) => group.pids));
  return descendantsOf(process.pid)
    .filter((pid) => !inSandboxes.has(pid) && anyMaps([pid], '/pandas/'))
    .reduce((total, pid) => total + proportionalBytes(pid), 0);
}

/**
 * Runs the pandas snippet in the sandboxes of `fresh` (stateful executors), lets every sandbox alive
 * (`alive`, the fresh ones included, each of which ran the snippet once) settle, and reads their
 * memory: each sandbox's PSS plus its share of the fork servers', and the total of both, bytes.
 */
async function idlePandasSandboxes(
  alive: readonly HopXCodeExecutor[],
  fresh: readonly HopXCodeExecutor[],
): Promise<{ perSandbox: number[]; totalBytes: number }> {
  await Promise.all(
    fresh.map(async (executor) => {
      const result = await executor.executeCodeBlocks([{ language: 'python', code: PANDAS.code }]);
      if (result.exitCode !== 0 || result.output !== PANDAS.stdout) {
        throw new Error(`the pandas snippet failed in a sandbox: ${JSON.stringify(result).slice(0, 500)}`);
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  const groups = sandboxGroups(alive.length, pandasLoaded);
  const forkServers = forkServerProportionalBytes(groups);
  const share = forkServers / alive.length;
  return {
    perSandbox: groups.map((group) => group.pssBytes + share),
    totalBytes: groups.reduce((total, group) => total + group.pssBytes, forkServers),
  };
}

/** KiB of live heap each message adds, per checkpoint segment of one long two-agent chat. */
async function heapPerMessage(
  messages: number,
  checkpointEvery: number,
  maxRecordedRequests: number | undefined,
): Promise<number[]> {
  const pair = createScriptedPair(maxRecordedRequests === undefined ? {} : { maxRecordedRequests });
  const heap: number[] = [];
  let received = 0;
  const onReceived = () => {
    received += 1;
    if (received % checkpointEvery === 0) heap.push(liveHeapBytes());
  };
  pair.user.on('message-received', onReceived);
  pair.assistant.on('message-received', onReceived);
  try {
    await pair.user.initiateChat(pair.assistant, { message: 'Start.', maxTurns: messages / 2, silent: true });
  } finally {
    pair.user.off('message-received', onReceived);
    pair.assistant.off('message-received', onReceived);
  }
  return heap.slice(1).map((bytes, index) => (bytes - heap[index]!) / checkpointEvery / 1024);
}

/**
 * RSS of the sandboxes (their process trees, grouped by memory cgroup) and of the server in this
 * process per idle sandbox, next to an idle host Python; and heap growth per message of a long chat.
 */
export async function measureMemory(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { sandboxes: count, manySandboxes, messages, checkpointEvery } = settings.memory;
  const toMebibytes = (values: number[]) => values.map((value) => value / MEBIBYTE);

  figures.add(
    'memory.python.idle',
    'idle python3 process, RSS (baseline)',
    'MiB',
    toMebibytes(await idlePythonResident(count, 'pass')),
  );
  figures.add(
    'memory.python.preloaded',
    'idle python3 with numpy+pandas+matplotlib, RSS (baseline)',
    'MiB',
    toMebibytes(await idlePythonResident(count, POOL_PRELOAD)),
  );

  // Measured with the idle sandboxes, reported after the pooled figure it is compared with.
  let pandasProportional: number[] = [];
  let manyPandasProportional: number[] = [];
  let addedPerSandbox: number | undefined;
  await withBenchServer(0, async (server) => {
    const newExecutor = () =>
      new HopXCodeExecutor({
        baseURL: server.baseURL,
        apiKey: server.apiKey,
        template: 'code-interpreter',
        stateful: true,
      });
    const executors = Array.from({ length: count }, newExecutor);
    try {
      const heapBefore = liveHeapBytes();
      await Promise.all(
        executors.map((executor) => executor.executeCodeBlocks([{ language: 'python', code: 'print(1)' }])),
      );
      // Let the sandboxes settle into idle before reading their memory.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const heapGrowth = (liveHeapBytes() - heapBefore) / count;
      const groups = sandboxGroups(count);
      figures.add(
        'memory.sandbox.idle.rss',
        'idle sandbox after print(1), RSS of its processes',
        'MiB',
        toMebibytes(groups.map((group) => group.rssBytes)),
        { baselineId: 'memory.python.idle' },
      );
      figures.add(
        'memory.sandbox.idle.pss',
        'idle sandbox after print(1), PSS of its processes',
        'MiB',
        toMebibytes(groups.map((group) => group.pssBytes)),
        { baselineId: 'memory.python.idle' },
      );
      const cgroupBytes = groups.map((group) => group.cgroupBytes);
      if (cgroupBytes.every((value) => value !== null)) {
        figures.add(
          'memory.sandbox.idle.cgroup',
          'idle sandbox after print(1), memory cgroup usage (incl. page cache, tmpfs)',
          'MiB',
          toMebibytes(cgroupBytes as number[]),
          { baselineId: 'memory.python.idle' },
        );
      }
      figures.add(
        'memory.server.heap-per-sandbox',
        `server (this Node process) live JS heap per idle sandbox, ${count} sandboxes`,
        'MiB',
        [heapGrowth / MEBIBYTE],
        { note: 'one reading over all the sandboxes; a value near 0, even below, means within noise' },
      );
      figures.add(
        'memory.sandbox.idle.total',
        'idle sandbox total: its processes RSS + server heap share',
        'MiB',
        toMebibytes(groups.map((group) => group.rssBytes + heapGrowth)),
        { baselineId: 'memory.python.idle' },
      );
      // The same sandboxes, all still alive, once each has imported pandas in its interpreter.
      const few = await idlePandasSandboxes(executors, executors);
      pandasProportional = toMebibytes(few.perSandbox);
      // More of them: the pages every sandbox shares with the fork server are divided among more.
      if (manySandboxes > count) {
        const more = Array.from({ length: manySandboxes - count }, newExecutor);
        executors.push(...more);
        const many = await idlePandasSandboxes(executors, more);
        manyPandasProportional = toMebibytes(many.perSandbox);
        addedPerSandbox = (many.totalBytes - few.totalBytes) / (manySandboxes - count) / MEBIBYTE;
      }
    } finally {
      await Promise.allSettled(executors.map((executor) => executor.close()));
    }
  });

  await withBenchServer(count, async (server) => {
    await server.poolsReady();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The server keeps a pool per template: code-interpreter's interpreters have pandas loaded, base's do not.
    const groups = sandboxGroups(count, pandasLoaded);
    const basePool = sandboxGroups(count, (group) => !pandasLoaded(group));
    figures.add(
      'memory.sandbox.pooled-base.rss',
      'pooled idle base-template sandbox (no preload), RSS',
      'MiB',
      toMebibytes(basePool.map((group) => group.rssBytes)),
      { baselineId: 'memory.python.idle' },
    );
    figures.add(
      'memory.sandbox.pooled.rss',
      'pooled idle sandbox (pandas preloaded), RSS',
      'MiB',
      toMebibytes(groups.map((group) => group.rssBytes)),
      { baselineId: 'memory.python.preloaded' },
    );
    figures.add(
      'memory.sandbox.pooled.pss',
      'pooled idle sandbox (pandas preloaded), PSS',
      'MiB',
      toMebibytes(groups.map((group) => group.pssBytes)),
      { baselineId: 'memory.python.preloaded' },
    );
  });
  figures.add(
    'memory.sandbox.pandas.pss',
    `idle sandbox with pandas imported in its interpreter, ${count} alive, no pool: PSS`,
    'MiB',
    pandasProportional,
    {
      baselineId: 'memory.sandbox.pooled.pss',
      targetP50: TARGET_PANDAS_SANDBOX_MEBIBYTES,
      note: "the sum of Pss over every process in the sandbox's memory cgroup (its bubblewrap holder, the zygote, the interpreter), each shared page divided among all the processes that map it, plus the Pss of any server process outside the sandboxes that has pandas loaded (a fork server the sandboxes are copied from) divided by the sandboxes alive",
    },
  );
  if (manyPandasProportional.length > 0) {
    figures.add(
      'memory.sandbox.pandas.pss.many',
      `the same, ${manySandboxes} alive`,
      'MiB',
      manyPandasProportional,
      {
        baselineId: 'memory.sandbox.pandas.pss',
        targetP50: TARGET_PANDAS_SANDBOX_MEBIBYTES,
        note: `the same sum with ${manySandboxes} sandboxes alive: what every sandbox shares with the fork server (the imported modules) is divided among more of them, what each wrote for itself is not`,
      },
    );
  }
  if (addedPerSandbox !== undefined) {
    figures.add(
      'memory.sandbox.pandas.added',
      `memory one more idle sandbox with pandas imported adds (from ${count} to ${manySandboxes} alive)`,
      'MiB',
      [addedPerSandbox],
      {
        note: `one reading: the growth of the total Pss of the sandboxes and the fork servers from ${count} to ${manySandboxes} alive, divided by the ${manySandboxes - count} sandboxes added; the pages a sandbox wrote for itself, the physical limit of a copy-on-write fork`,
      },
    );
  }

  figures.add(
    'memory.chat.heap-per-message',
    `two-agent chat heap growth per message (${messages} messages, no request log: the agents alone)`,
    'KiB/message',
    await heapPerMessage(messages, checkpointEvery, 0),
  );
  figures.add(
    'memory.chat.heap-per-message.default-log',
    `same, ScriptedModelClient's default log of the latest 100 requests (${messages} messages)`,
    'KiB/message',
    await heapPerMessage(messages, checkpointEvery, undefined),
    { baselineId: 'memory.chat.heap-per-message' },
  );
  const withLog = Math.min(messages, MAX_MESSAGES_WITH_REQUEST_LOG);
  figures.add(
    'memory.chat.heap-per-message.request-log',
    `same, ScriptedModelClient keeping every request, maxRecordedRequests: Infinity (${withLog} messages)`,
    'KiB/message',
    await heapPerMessage(withLog, Math.min(checkpointEvery, withLog / 4), Infinity),
    { baselineId: 'memory.chat.heap-per-message' },
  );
}
