import type { FigureSet } from './figures.js';
import { runOrchestrationBench } from './orchestration.js';
import type { BenchSettings } from './settings.js';

/** The per-round target the project set for `bench/orchestration.ts`, microseconds at p50. */
const TARGET_ROUND_MICROSECONDS = 10;
/** Rounds measured per chat length: short chats are repeated until they reach this many. */
const ROUNDS_PER_FIGURE = 10_000;
const MAX_CALLS = 10;

/**
 * Overhead per round of a 3-agent round-robin group chat with model-free agents, from
 * `runOrchestrationBench({ rounds })` in `bench/orchestration.ts` (another engineer's file): the
 * percentiles are over the per-round times it reports.
 */
export async function measureGroupChat(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const lengths = settings.orchestration.groupChatRounds;
  const shortest = lengths[0]!;
  // Warm-up: the JIT must not be charged to the first length.
  await runOrchestrationBench({ rounds: Math.max(shortest, 200) });
  for (const rounds of lengths) {
    const calls = Math.max(1, Math.min(MAX_CALLS, Math.round(ROUNDS_PER_FIGURE / rounds)));
    const samples: number[] = [];
    let lateOverEarly = 0;
    for (let call = 0; call < calls; call++) {
      const run = await runOrchestrationBench({ rounds });
      samples.push(...run.roundDurationsMs.map((milliseconds) => milliseconds * 1000));
      lateOverEarly = Math.max(lateOverEarly, run.lateOverEarlyRatio);
    }
    figures.add(
      `orchestration.group-chat.${rounds}`,
      `3-agent round-robin group chat, per round (${rounds}-round chats × ${calls})`,
      'µs',
      samples,
      {
        // The shortest chat is compared with a two-agent turn; longer chats with the shortest, so a
        // per-round cost that grows with the transcript shows as a ratio above 1.
        baselineId:
          rounds === shortest ? 'orchestration.two-agent.turn' : `orchestration.group-chat.${shortest}`,
        targetP50: TARGET_ROUND_MICROSECONDS,
        note: `last tenth of rounds vs first tenth, p50: up to ${lateOverEarly.toFixed(2)}×`,
      },
    );
  }
}
