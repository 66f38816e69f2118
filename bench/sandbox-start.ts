import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { type BenchServer, startBenchServer } from './local-server.js';
import { bareBubblewrapArguments, runProcess, SYSTEM_PYTHON } from './processes.js';
import { type Probe, sampleInterleaved } from './sampler.js';
import type { BenchSettings } from './settings.js';
import { PANDAS, TRIVIAL } from './snippets.js';

/** Targets from the local server's issue, milliseconds at p50. */
const TARGET_NO_POOL_MS = 30;
const TARGET_WARM_POOL_MS = 5;
/** Issue 18: a new sandbox, no pool, to its first pandas result, milliseconds at p50. */
const TARGET_PANDAS_NO_POOL_MS = 30;

/** Ids of the create-to-first-result figures, in chart order. */
export const START_PATH_IDS = [
  'start.python',
  'start.bwrap',
  'start.sdk.no-pool',
  'start.sdk.pool',
  'start.executor.no-pool',
  'start.executor.pool',
] as const;

/** Waits for the warm pool to refill (untimed for the probe) and records how long that took. */
async function awaitRefill(server: BenchServer, refills: number[]): Promise<void> {
  const startedAt = performance.now();
  await server.poolsReady();
  refills.push(performance.now() - startedAt);
}

/** A probe that creates a sandbox through the SDK and runs `snippet` (`print(1)` unless given); kill is untimed. */
function sdkProbe(
  server: BenchServer,
  split: { create: number[]; firstRun: number[] },
  refills: number[],
  snippet: { code: string; stdout: string } = TRIVIAL,
): Probe {
  let sandbox: Sandbox | undefined;
  return {
    measure: async () => {
      const startedAt = performance.now();
      sandbox = await Sandbox.create({
        template: 'code-interpreter',
        apiKey: server.apiKey,
        baseURL: server.baseURL,
      });
      const createdAt = performance.now();
      const result = await sandbox.runIpython(snippet.code, { timeout: 60 });
      split.create.push(createdAt - startedAt);
      split.firstRun.push(performance.now() - createdAt);
      if (result.stdout !== snippet.stdout) {
        throw new Error(`SDK ${JSON.stringify(snippet.code)} printed ${JSON.stringify(result)}`);
      }
    },
    cleanup: async () => {
      await sandbox?.kill();
      sandbox = undefined;
      // A pooled create starts a refill; let it finish so it does not load the next timed run.
      await awaitRefill(server, refills);
    },
  };
}

/** A probe that makes a `HopXCodeExecutor` and runs one `print(1)` block; close is untimed. */
function executorProbe(server: BenchServer, refills: number[]): Probe {
  let executor: HopXCodeExecutor | undefined;
  return {
    measure: async () => {
      executor = new HopXCodeExecutor({
        baseURL: server.baseURL,
        apiKey: server.apiKey,
        template: 'code-interpreter',
        stateful: true,
        timeoutMs: 30_000,
      });
      const result = await executor.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]);
      if (result.exitCode !== 0 || result.output !== '1\n') {
        throw new Error(`executor print(1) answered ${JSON.stringify(result)}`);
      }
    },
    cleanup: async () => {
      await executor?.close();
      executor = undefined;
      await awaitRefill(server, refills);
    },
  };
}

/**
 * Create-to-first-result of `print(1)` on every path, interleaved in one run: a plain Python process,
 * a bare bwrap sandbox (the floor), the SDK straight against the server, and `HopXCodeExecutor`, each
 * without and with a warm pool.
 */
export async function measureSandboxStart(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const cold = await startBenchServer(0);
  let warm: BenchServer | undefined;
  try {
    warm = await startBenchServer(1);
    await warm.poolsReady();
    const coldSplit = { create: [] as number[], firstRun: [] as number[] };
    const warmSplit = { create: [] as number[], firstRun: [] as number[] };
    const pandasSplit = { create: [] as number[], firstRun: [] as number[] };
    const refills: number[] = [];
    const ignoredRefills: number[] = [];
    const samples = await sampleInterleaved(settings.start, {
      python: { measure: () => runProcess(SYSTEM_PYTHON, ['-c', 'print(1)'], '1\n') },
      bwrap: {
        measure: () => runProcess('bwrap', bareBubblewrapArguments(SYSTEM_PYTHON, ['-c', 'print(1)']), '1\n'),
      },
      sdkNoPool: sdkProbe(cold, coldSplit, ignoredRefills),
      sdkPool: sdkProbe(warm, warmSplit, refills),
      sdkPandasNoPool: sdkProbe(cold, pandasSplit, ignoredRefills, PANDAS),
      executorNoPool: executorProbe(cold, ignoredRefills),
      executorPool: executorProbe(warm, refills),
    });
    const warmup = settings.start.warmup;
    figures.add('start.python', 'python3 -c print(1), plain process (no isolation)', 'ms', samples.python);
    figures.add('start.bwrap', 'bare bwrap + python3 -c print(1) (floor)', 'ms', samples.bwrap, {
      baselineId: 'start.python',
    });
    figures.add('start.sdk.no-pool', 'SDK create + runIpython print(1), no pool', 'ms', samples.sdkNoPool, {
      baselineId: 'start.bwrap',
      targetP50: TARGET_NO_POOL_MS,
    });
    figures.add(
      'start.sdk.no-pool.create',
      '  no pool, Sandbox.create part',
      'ms',
      coldSplit.create.slice(warmup),
      {
        baselineId: 'start.bwrap',
      },
    );
    figures.add(
      'start.sdk.no-pool.first-run',
      '  no pool, first runIpython part',
      'ms',
      coldSplit.firstRun.slice(warmup),
      { baselineId: 'start.bwrap' },
    );
    figures.add(
      'start.pandas.no-pool',
      'SDK create + runIpython of a pandas snippet, no pool',
      'ms',
      samples.sdkPandasNoPool,
      {
        baselineId: 'start.sdk.no-pool',
        targetP50: TARGET_PANDAS_NO_POOL_MS,
        note: 'compared with print(1) on the same path: the ratio is what a first pandas result costs over a first result at all (importing pandas, unless the sandbox starts with it imported)',
      },
    );
    figures.add(
      'start.pandas.no-pool.create',
      '  pandas, no pool, Sandbox.create part',
      'ms',
      pandasSplit.create.slice(warmup),
      { baselineId: 'start.sdk.no-pool.create' },
    );
    figures.add(
      'start.pandas.no-pool.first-run',
      '  pandas, no pool, first runIpython part',
      'ms',
      pandasSplit.firstRun.slice(warmup),
      { baselineId: 'start.sdk.no-pool.first-run' },
    );
    figures.add('start.sdk.pool', 'SDK create + runIpython print(1), warm pool', 'ms', samples.sdkPool, {
      baselineId: 'start.bwrap',
      targetP50: TARGET_WARM_POOL_MS,
    });
    figures.add(
      'start.sdk.pool.create',
      '  warm pool, Sandbox.create part',
      'ms',
      warmSplit.create.slice(warmup),
      {
        baselineId: 'start.bwrap',
      },
    );
    figures.add(
      'start.sdk.pool.first-run',
      '  warm pool, first runIpython part',
      'ms',
      warmSplit.firstRun.slice(warmup),
      { baselineId: 'start.bwrap' },
    );
    figures.add(
      'start.executor.no-pool',
      'HopXCodeExecutor first print(1), no pool',
      'ms',
      samples.executorNoPool,
      { baselineId: 'start.bwrap' },
    );
    figures.add(
      'start.executor.pool',
      'HopXCodeExecutor first print(1), warm pool',
      'ms',
      samples.executorPool,
      {
        baselineId: 'start.bwrap',
      },
    );
    figures.add(
      'start.pool.refill',
      'warm pool refill after a pooled create (not in the figures above)',
      'ms',
      refills.slice(2 * warmup),
      {
        baselineId: 'start.executor.no-pool',
        note: 'the pool replaces each sandbox it hands out by starting one and importing numpy, pandas and matplotlib: CPU work the pool moves off the critical path, not away',
      },
    );
  } finally {
    await Promise.all([cold.close(), warm?.close()]);
  }
}
