import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { type BenchServer, startBenchServer } from './local-server.js';
import type { BenchSettings } from './settings.js';

/** One SDK create and its first `print(1)`, timed together; the sandbox is left for the caller to kill. */
async function createToFirstPrint(server: BenchServer): Promise<{ milliseconds: number; sandbox: Sandbox }> {
  const startedAt = performance.now();
  const sandbox = await Sandbox.create({
    template: 'code-interpreter',
    apiKey: server.apiKey,
    baseURL: server.baseURL,
  });
  const result = await sandbox.runIpython('print(1)');
  const milliseconds = performance.now() - startedAt;
  if (result.stdout !== '1\n') {
    await sandbox.kill();
    throw new Error(`SDK print(1) printed ${JSON.stringify(result.stdout)}`);
  }
  return { milliseconds, sandbox };
}

/** Awaits every create, kills whatever was created (untimed), and rethrows the first failure. */
async function settle(runs: Promise<{ milliseconds: number; sandbox: Sandbox }>[]): Promise<number[]> {
  const settled = await Promise.allSettled(runs);
  await Promise.all(
    settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.sandbox.kill() : undefined)),
  );
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map(
    (outcome) => (outcome as PromiseFulfilledResult<{ milliseconds: number }>).value.milliseconds,
  );
}

/** `count` creates at once, each timed from its own request to its first `print(1)`. */
async function burst(server: BenchServer, count: number): Promise<number[]> {
  await server.poolsReady();
  return settle(Array.from({ length: count }, () => createToFirstPrint(server)));
}

/** `count` creates, one every `intervalMs` whether or not the previous one has finished. */
async function steadyRate(server: BenchServer, count: number, intervalMs: number): Promise<number[]> {
  await server.poolsReady();
  const runs: Promise<{ milliseconds: number; sandbox: Sandbox }>[] = [];
  const startedAt = performance.now();
  for (let index = 0; index < count; index++) {
    const wait = startedAt + index * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    runs.push(createToFirstPrint(server));
    // A failed create must not become an unhandled rejection while the loop still waits.
    runs[index]!.catch(() => {});
  }
  return settle(runs);
}

/**
 * The warm pool when it cannot refill between creates: a burst of creates at once and a steady
 * create rate, each next to the same load without a pool. The headline pool figure waits for the
 * refill before every create; these do not.
 */
export async function measurePoolUnderLoad(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { burstSize, steadyCreates, steadyIntervalMs } = settings.poolLoad;
  const cold = await startBenchServer(0);
  let warm: BenchServer | undefined;
  try {
    warm = await startBenchServer(1);
    const coldBurst = await burst(cold, burstSize);
    const warmBurst = await burst(warm, burstSize);
    const coldSteady = await steadyRate(cold, steadyCreates, steadyIntervalMs);
    const warmSteady = await steadyRate(warm, steadyCreates, steadyIntervalMs);
    figures.add(
      'start.burst.no-pool',
      `${burstSize} creates at once, no pool: create to first print(1) each`,
      'ms',
      coldBurst,
    );
    figures.add(
      'start.burst.pool',
      `${burstSize} creates at once, warm pool (poolSize 1): create to first print(1) each`,
      'ms',
      warmBurst,
      {
        baselineId: 'start.burst.no-pool',
        note: 'the pool holds one ready sandbox per template: the first create of the burst gets it, the others start cold while the pool refills next to them',
      },
    );
    figures.add(
      'start.steady.no-pool',
      `one create every ${steadyIntervalMs} ms (${steadyCreates} creates), no pool`,
      'ms',
      coldSteady,
    );
    figures.add(
      'start.steady.pool',
      `one create every ${steadyIntervalMs} ms (${steadyCreates} creates), warm pool (poolSize 1)`,
      'ms',
      warmSteady,
      {
        baselineId: 'start.steady.no-pool',
        note: 'a refill takes longer than the interval, so most creates find the pool empty',
      },
    );
  } finally {
    await Promise.all([cold.close(), warm?.close()]);
  }
}
