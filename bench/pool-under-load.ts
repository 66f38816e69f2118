import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { type BenchServer, startBenchServer } from './local-server.js';
import type { BenchSettings } from './settings.js';
import { PANDAS, TRIVIAL } from './snippets.js';

/** Code a create runs first, with the output it must print and the id suffix and words of its figures. */
interface FirstResult {
  code: string;
  stdout: string;
  /** Appended to the figure ids: '' for `print(1)`, `.pandas` for the pandas snippet. */
  idSuffix: string;
  /** How the figure labels name it. */
  words: string;
}

const FIRST_RESULTS: readonly FirstResult[] = [
  { ...TRIVIAL, idSuffix: '', words: 'first print(1)' },
  { ...PANDAS, idSuffix: '.pandas', words: 'first pandas result' },
];

/** One SDK create and its first result, timed together; the sandbox is left for the caller to kill. */
async function createToFirstResult(
  server: BenchServer,
  first: FirstResult,
): Promise<{ milliseconds: number; sandbox: Sandbox }> {
  const startedAt = performance.now();
  const sandbox = await Sandbox.create({
    template: 'code-interpreter',
    apiKey: server.apiKey,
    baseURL: server.baseURL,
  });
  const result = await sandbox.runIpython(first.code, { timeout: 120 });
  const milliseconds = performance.now() - startedAt;
  if (result.stdout !== first.stdout) {
    await sandbox.kill();
    throw new Error(`SDK ${JSON.stringify(first.code)} printed ${JSON.stringify(result)}`);
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

/** One create to a pandas result, untimed: the first sandbox after a server starts waits for its fork server. */
async function warmUp(server: BenchServer): Promise<void> {
  await settle([createToFirstResult(server, FIRST_RESULTS[1]!)]);
}

/** `count` creates at once, each timed from its own request to its first result. */
async function burst(server: BenchServer, count: number, first: FirstResult): Promise<number[]> {
  await server.poolsReady();
  return settle(Array.from({ length: count }, () => createToFirstResult(server, first)));
}

/** `count` creates, one every `intervalMs` whether or not the previous one has finished. */
async function steadyRate(
  server: BenchServer,
  count: number,
  intervalMs: number,
  first: FirstResult,
): Promise<number[]> {
  await server.poolsReady();
  const runs: Promise<{ milliseconds: number; sandbox: Sandbox }>[] = [];
  const startedAt = performance.now();
  for (let index = 0; index < count; index++) {
    const wait = startedAt + index * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    runs.push(createToFirstResult(server, first));
    // A failed create must not become an unhandled rejection while the loop still waits.
    runs[index]!.catch(() => {});
  }
  return settle(runs);
}

/**
 * The warm pool when it cannot refill between creates: a burst of creates at once and a steady
 * create rate, each next to the same load without a pool, first with `print(1)` and then with a
 * pandas snippet as the first result (what data-analysis sandboxes run first). The headline pool
 * figure waits for the refill before every create; these do not.
 */
export async function measurePoolUnderLoad(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { burstSize, steadyCreates, steadyIntervalMs } = settings.poolLoad;
  const cold = await startBenchServer(0);
  let warm: BenchServer | undefined;
  try {
    warm = await startBenchServer(1);
    // Untimed: both servers' fork servers have imported their modules and the warm pool is full
    // before the first burst, which would otherwise share the two cores with that start-up.
    await warmUp(cold);
    await warm.poolsReady();
    for (const first of FIRST_RESULTS) {
      const coldBurst = await burst(cold, burstSize, first);
      const warmBurst = await burst(warm, burstSize, first);
      const coldSteady = await steadyRate(cold, steadyCreates, steadyIntervalMs, first);
      const warmSteady = await steadyRate(warm, steadyCreates, steadyIntervalMs, first);
      // The pandas figures without a pool are compared with print(1) under the same load.
      const againstPrint = (id: string) => (first.idSuffix === '' ? {} : { baselineId: id });
      // The notes hold for both first results; the report prints them once, under the print(1) figures.
      const noteOnce = (note: string) => (first.idSuffix === '' ? { note } : {});
      figures.add(
        `start.burst.no-pool${first.idSuffix}`,
        `${burstSize} creates at once, no pool: create to ${first.words} each`,
        'ms',
        coldBurst,
        againstPrint('start.burst.no-pool'),
      );
      figures.add(
        `start.burst.pool${first.idSuffix}`,
        `${burstSize} creates at once, warm pool (poolSize 1): create to ${first.words} each`,
        'ms',
        warmBurst,
        {
          baselineId: `start.burst.no-pool${first.idSuffix}`,
          ...noteOnce(
            'the pool holds one ready sandbox per template: the first create of the burst gets it, the others start cold while the pool refills next to them',
          ),
        },
      );
      figures.add(
        `start.steady.no-pool${first.idSuffix}`,
        `one create every ${steadyIntervalMs} ms (${steadyCreates} creates), no pool, to ${first.words}`,
        'ms',
        coldSteady,
        againstPrint('start.steady.no-pool'),
      );
      figures.add(
        `start.steady.pool${first.idSuffix}`,
        `one create every ${steadyIntervalMs} ms (${steadyCreates} creates), warm pool (poolSize 1), to ${first.words}`,
        'ms',
        warmSteady,
        {
          baselineId: `start.steady.no-pool${first.idSuffix}`,
          ...noteOnce('when a refill takes longer than the interval, most creates find the pool empty'),
        },
      );
    }
  } finally {
    await Promise.all([cold.close(), warm?.close()]);
  }
}
