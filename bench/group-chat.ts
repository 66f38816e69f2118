import type { FigureSet } from './figures.js';
import type { BenchSettings } from './settings.js';

/** `runOrchestrationBench` from `bench/orchestration.ts` (another engineer's file; called, never rewritten). */
type RunOrchestrationBench = (options: { rounds: number }) => Promise<unknown>;

/** Thrown when `bench/orchestration.ts` is not in the tree yet or exports something else. */
export class OrchestrationBenchMissingError extends Error {}

async function loadRunOrchestrationBench(): Promise<RunOrchestrationBench> {
  // A computed specifier, so the typecheck passes while the file has not landed.
  const specifier = './orchestration.js';
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new OrchestrationBenchMissingError(
      `bench/orchestration.ts could not be loaded (${error instanceof Error ? error.message : String(error)}); the group-chat figures need its runOrchestrationBench({ rounds }).`,
    );
  }
  const run = module.runOrchestrationBench;
  if (typeof run !== 'function') {
    throw new OrchestrationBenchMissingError('bench/orchestration.ts does not export runOrchestrationBench.');
  }
  return run as RunOrchestrationBench;
}

/** Per-round durations in milliseconds if the result carries them (any array of numbers named like it). */
function perRoundSamples(result: unknown): number[] | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  for (const [key, value] of Object.entries(result)) {
    if (
      /round/i.test(key) &&
      /ms|duration|time/i.test(key) &&
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((item) => typeof item === 'number')
    ) {
      return value as number[];
    }
  }
  return undefined;
}

/**
 * Overhead per round of a 3-agent round-robin group chat with model-free agents, through
 * `runOrchestrationBench({ rounds })`. Percentiles are over its per-round times when it reports them,
 * else over the mean round time of repeated calls timed here.
 */
export async function measureGroupChat(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const runOrchestrationBench = await loadRunOrchestrationBench();
  const [shortest] = settings.orchestration.groupChatRounds;
  await runOrchestrationBench({ rounds: shortest! });
  for (const rounds of settings.orchestration.groupChatRounds) {
    // Repeat short chats so each figure rests on several calls; one call of the longest is enough.
    const calls = Math.max(1, Math.min(10, Math.round(20_000 / rounds / 2)));
    const samples: number[] = [];
    for (let call = 0; call < calls; call++) {
      const startedAt = performance.now();
      const result = await runOrchestrationBench({ rounds });
      const elapsed = performance.now() - startedAt;
      samples.push(...(perRoundSamples(result) ?? [elapsed / rounds]));
    }
    figures.add(
      `orchestration.group-chat.${rounds}`,
      `3-agent round-robin group chat, per round (${rounds} rounds)`,
      'µs',
      samples.map((value) => value * 1000),
      // The shortest chat is compared with a two-agent turn; longer chats with the shortest, so growth
      // of the per-round cost with history length shows as a ratio above 1.
      {
        baselineId:
          rounds === shortest ? 'orchestration.two-agent.turn' : `orchestration.group-chat.${shortest}`,
      },
    );
  }
}
