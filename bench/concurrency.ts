import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import type { FigureSet } from './figures.js';
import { type BenchServer, withBenchServer } from './local-server.js';
import type { BenchSettings } from './settings.js';
import { PANDAS } from './snippets.js';

/** Issue 18: this many sandboxes created at once, no pool, each reach their first pandas result within this p99 (milliseconds). */
const TARGET_BURST_LEVEL = 32;
const TARGET_BURST_P99_MS = 1000;

/** Runs the pandas snippet once and fails unless it printed the right answer. */
async function runPandas(executor: HopXCodeExecutor): Promise<void> {
  const result = await executor.executeCodeBlocks([{ language: 'python', code: PANDAS.code }]);
  if (result.exitCode !== 0 || result.output !== PANDAS.stdout) {
    throw new Error(`a concurrent pandas block failed: ${JSON.stringify(result).slice(0, 500)}`);
  }
}

function newExecutors(server: BenchServer, count: number): HopXCodeExecutor[] {
  return Array.from(
    { length: count },
    () =>
      new HopXCodeExecutor({
        baseURL: server.baseURL,
        apiKey: server.apiKey,
        template: 'code-interpreter',
        stateful: true,
        timeoutMs: 120_000,
        // A retry would hide a failure under load; every block must succeed the first time.
        maxRetries: 0,
      }),
  );
}

/** Runs `work` on every executor at once; closes them all however it ends; throws if any failed. */
async function onAll(
  executors: HopXCodeExecutor[],
  work: (executor: HopXCodeExecutor) => Promise<void>,
): Promise<void> {
  const outcomes = await Promise.allSettled(executors.map(work));
  const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${executors.length} concurrent sandboxes failed; first: ${String(failures[0]!.reason)}`,
    );
  }
}

/** Closes every executor, and so kills its sandbox. */
async function closeAll(executors: HopXCodeExecutor[]): Promise<void> {
  await Promise.allSettled(executors.map((executor) => executor.close()));
}

/**
 * N sandboxes at once, each running a small pandas snippet: a cold burst (create, start the
 * interpreter, import pandas, answer) and a steady state (live sandboxes, pandas already imported,
 * each running blocks back to back). Every block must succeed. Concurrency 1 is the baseline.
 */
export async function measureConcurrency(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { levels, burstRounds, steadyRounds, blocksPerSandbox } = settings.concurrency;
  const [baselineLevel] = levels;
  await withBenchServer(0, async (server) => {
    for (const level of levels) {
      const burstLatencies: number[] = [];
      const burstThroughputs: number[] = [];
      for (let round = 0; round < burstRounds; round++) {
        const executors = newExecutors(server, level);
        try {
          const startedAt = performance.now();
          await onAll(executors, async (executor) => {
            await runPandas(executor);
            burstLatencies.push(performance.now() - startedAt);
          });
          burstThroughputs.push(level / ((performance.now() - startedAt) / 1000));
        } finally {
          await closeAll(executors);
        }
      }

      const steadyLatencies: number[] = [];
      const steadyThroughputs: number[] = [];
      const executors = newExecutors(server, level);
      try {
        await onAll(executors, runPandas);
        for (let round = 0; round < steadyRounds; round++) {
          const startedAt = performance.now();
          await onAll(executors, async (executor) => {
            for (let block = 0; block < blocksPerSandbox; block++) {
              const blockStartedAt = performance.now();
              await runPandas(executor);
              steadyLatencies.push(performance.now() - blockStartedAt);
            }
          });
          steadyThroughputs.push((level * blocksPerSandbox) / ((performance.now() - startedAt) / 1000));
        }
      } finally {
        await closeAll(executors);
      }

      // Each level is compared with the lowest level, measured first.
      const against = (mode: string, measure: string) =>
        level === baselineLevel ? {} : { baselineId: `concurrency.${mode}.${baselineLevel}.${measure}` };
      const name = `${level} sandbox${level === 1 ? '' : 'es'}`;
      figures.add(
        `concurrency.burst.${level}.latency`,
        `${name} at once, create to pandas result: latency`,
        'ms',
        burstLatencies,
        {
          ...against('burst', 'latency'),
          ...(level === TARGET_BURST_LEVEL ? { targetP99: TARGET_BURST_P99_MS } : {}),
        },
      );
      figures.add(
        `concurrency.burst.${level}.throughput`,
        `${name} at once, create to pandas result: throughput`,
        'blocks/s',
        burstThroughputs,
        { higherIsBetter: true, ...against('burst', 'throughput') },
      );
      figures.add(
        `concurrency.steady.${level}.latency`,
        `${name} live, pandas block round trip: latency`,
        'ms',
        steadyLatencies,
        against('steady', 'latency'),
      );
      figures.add(
        `concurrency.steady.${level}.throughput`,
        `${name} live, pandas block round trip: throughput`,
        'blocks/s',
        steadyThroughputs,
        { higherIsBetter: true, ...against('steady', 'throughput') },
      );
    }
  });
}
