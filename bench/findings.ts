import type { Figure } from './figures.js';
import { formatNumber, meetsTargets, type RunReport, targetsText } from './report.js';

/**
 * Sentences that read the run's figures: what dominates each path, how far from its target, how it
 * scales. Generated from the same run as the tables, so the prose cannot drift from the numbers.
 * A sentence whose figures were not measured is left out.
 */
export function markdownFindings(report: RunReport): string {
  const figures = new Map<string, Figure>(
    report.sections.flatMap((section) => section.figures).map((figure) => [figure.id, figure]),
  );
  const p50 = (id: string) => figures.get(id)?.summary.p50;
  const p99 = (id: string) => figures.get(id)?.summary.p99;
  const mean = (id: string) => figures.get(id)?.summary.mean;
  const value = (id: string, pick: (id: string) => number | undefined = p50) => {
    const found = pick(id);
    return found === undefined ? undefined : `${formatNumber(found)} ${figures.get(id)!.unit}`;
  };
  const times = (numerator: number | undefined, denominator: number | undefined) =>
    numerator === undefined || denominator === undefined
      ? undefined
      : `${formatNumber(numerator / denominator)}×`;
  // Up to 20 % above the short chat is within this machine's noise.
  const growth = (long: number | undefined, short: number | undefined) =>
    long === undefined || short === undefined
      ? undefined
      : long <= short * 1.2
        ? 'the per-round cost does not grow with the transcript'
        : `the per-round cost grows ${formatNumber(long / short)}× with the transcript`;
  // `target p50 30.0 ms: met`, from the figure's own targets.
  const goal = (id: string) => {
    const figure = figures.get(id);
    const targets = figure === undefined ? undefined : targetsText(figure, figure.unit);
    if (figure === undefined || targets === undefined) return undefined;
    return `${targets}: ${meetsTargets(figure) ? 'met' : 'missed'}`;
  };
  const ratioText = (late: number | undefined, early: number | undefined) =>
    late === undefined || early === undefined ? undefined : `${formatNumber(late / early)}× at p50`;
  const sentences: (string | undefined)[][] = [
    [
      'A sandbox without a pool answers its first `print(1)` through the SDK in ',
      value('start.sdk.no-pool'),
      ' at p50, ',
      times(p50('start.sdk.no-pool'), p50('start.bwrap')),
      ' the bare bwrap floor (',
      value('start.bwrap'),
      '): `Sandbox.create` takes ',
      value('start.sdk.no-pool.create'),
      ' (cgroups, workspace, spawning the process server) and the first `runIpython` ',
      value('start.sdk.no-pool.first-run'),
      ' (waiting for the sandbox process server and starting the interpreter).',
    ],
    [
      'With a warm pool the same takes ',
      value('start.sdk.pool'),
      ' at p50 (create ',
      value('start.sdk.pool.create'),
      ', first run ',
      value('start.sdk.pool.first-run'),
      '), ',
      times(p50('start.sdk.no-pool'), p50('start.sdk.pool')),
      ' faster than without; `HopXCodeExecutor` adds ',
      p50('start.executor.pool') === undefined || p50('start.sdk.pool') === undefined
        ? undefined
        : `${formatNumber(p50('start.executor.pool')! - p50('start.sdk.pool')!)} ms`,
      ' on top (',
      value('start.executor.pool'),
      '). The pool pays for it later: each sandbox it hands out is replaced in ',
      value('start.pool.refill'),
      ' of background work.',
    ],
    [
      'That figure waits, untimed, for the pool to refill before each create. Under load it does not: with ',
      String(report.settings.poolLoad?.burstSize),
      ' creates at once a create takes ',
      value('start.burst.pool'),
      ' at p50 with the pool and ',
      value('start.burst.no-pool'),
      ' without, and with one create every ',
      String(report.settings.poolLoad?.steadyIntervalMs),
      ' ms ',
      value('start.steady.pool'),
      ' with the pool and ',
      value('start.steady.no-pool'),
      ' without: a pool of one absorbs one create per refill, no more.',
    ],
    [
      'Its first pandas result (import pandas, build a 1000-row frame, sum it) takes ',
      value('start.pandas.no-pool'),
      ' at p50 without a pool (',
      goal('start.pandas.no-pool'),
      '), ',
      times(p50('start.pandas.no-pool'), p50('start.sdk.no-pool')),
      ' its first `print(1)`: `Sandbox.create` ',
      value('start.pandas.no-pool.create'),
      ', the first `runIpython` ',
      value('start.pandas.no-pool.first-run'),
      '. Under load with pandas as the first result, ',
      String(report.settings.poolLoad?.burstSize),
      ' creates at once take ',
      value('start.burst.pool.pandas'),
      ' at p50 with the pool and ',
      value('start.burst.no-pool.pandas'),
      ' without (p99 ',
      value('start.burst.pool.pandas', p99),
      ' and ',
      value('start.burst.no-pool.pandas', p99),
      '), and one create every ',
      String(report.settings.poolLoad?.steadyIntervalMs),
      ' ms ',
      value('start.steady.pool.pandas'),
      ' with the pool and ',
      value('start.steady.no-pool.pandas'),
      ' without.',
    ],
    [
      'In a live sandbox a stateful block round trip takes ',
      value('execution.stateful.trivial'),
      ' at p50 (the SDK call alone ',
      value('execution.sdk.trivial'),
      '), against ',
      value('execution.local.trivial'),
      ' for an unisolated host process per block. A pandas snippet takes ',
      value('execution.stateful.pandas'),
      ' stateful, where pandas stays imported, and ',
      value('execution.stateless.pandas'),
      ' stateless, where every block imports it again (',
      value('execution.local.pandas'),
      ' on the host).',
    ],
    [
      'Thirty-two sandboxes created at once all answered their pandas block, with a p99 of ',
      value('concurrency.burst.32.latency', p99),
      ' from create to result (',
      goal('concurrency.burst.32.latency'),
      '; p50 ',
      value('concurrency.burst.32.latency'),
      ', against ',
      value('concurrency.burst.1.latency'),
      ' for one sandbox alone) and a throughput of ',
      value('concurrency.burst.32.throughput'),
      ' against ',
      value('concurrency.burst.1.throughput'),
      ' for one. Live sandboxes sustain ',
      value('concurrency.steady.32.throughput'),
      ' at 32 (',
      value('concurrency.steady.1.throughput'),
      ' at 1), p99 latency ',
      value('concurrency.steady.32.latency', p99),
      '.',
    ],
    [
      'A group-chat round costs ',
      value('orchestration.group-chat.10000'),
      ' at p50 in a 10000-round chat and ',
      value('orchestration.group-chat.100'),
      ' in a 100-round one: ',
      growth(p50('orchestration.group-chat.10000'), p50('orchestration.group-chat.100')),
      '. What a chat costs is the mean: ',
      value('orchestration.group-chat.1000', mean),
      ' per round in a 1000-round chat (p50 ',
      value('orchestration.group-chat.1000'),
      '; the slow rounds are garbage collections and the JIT). A two-agent turn on `ScriptedModelClient` costs ',
      value('orchestration.two-agent.turn'),
      ' in 50-turn chats; in 5000-turn chats (10,000 messages) the last turns cost ',
      value('orchestration.two-agent.turn.long'),
      ' against ',
      value('orchestration.two-agent.turn.first'),
      ' for the first (',
      ratioText(p50('orchestration.two-agent.turn.long'), p50('orchestration.two-agent.turn.first')),
      '): each turn extends the prompt kept from the previous one.',
    ],
    [
      'An idle sandbox adds ',
      value('memory.sandbox.idle.pss'),
      ' of proportional memory (PSS; ',
      value('memory.sandbox.idle.rss'),
      ' RSS counting shared libraries in full, ',
      value('memory.sandbox.idle.cgroup'),
      ' by its cgroup); a pooled one with pandas preloaded ',
      value('memory.sandbox.pooled.pss'),
      ' PSS, and one with pandas imported in its interpreter, with ',
      String(report.settings.memory?.sandboxes),
      ' alive, ',
      value('memory.sandbox.pandas.pss'),
      ' (',
      goal('memory.sandbox.pandas.pss'),
      '). A long chat grows the heap by ',
      value('memory.chat.heap-per-message'),
      ' for the agents alone, ',
      value('memory.chat.heap-per-message.default-log'),
      ' with `ScriptedModelClient` keeping its latest 100 requests (the default), and ',
      value('memory.chat.heap-per-message.request-log'),
      ' if it keeps every prompt (`maxRecordedRequests: Infinity`), which grows with the square of the chat.',
    ],
    [
      'With ',
      String(report.settings.memory?.manySandboxes),
      ' sandboxes alive, one with pandas imported takes ',
      value('memory.sandbox.pandas.pss.many'),
      ' of PSS (',
      goal('memory.sandbox.pandas.pss.many'),
      '): the modules every sandbox shares with its fork server are divided among more sandboxes, while one more sandbox adds ',
      value('memory.sandbox.pandas.added'),
      ', the pages it wrote for itself.',
    ],
  ];
  return sentences
    .filter((parts) => parts.every((part) => part !== undefined))
    .map((parts) => `- ${parts.join('')}`)
    .join('\n');
}
