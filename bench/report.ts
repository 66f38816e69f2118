import type { Figure, SECTION_NAMES, SectionResult } from './figures.js';
import type { MachineInfo } from './machine.js';
import type { BenchSettings } from './settings.js';

/** Everything a run produced: what `bench/results/latest.json` holds. */
export interface RunReport {
  mode: 'full' | 'quick' | 'partial';
  startedAt: string;
  durationMs: number;
  machine: MachineInfo;
  /** The iteration counts the run used. */
  settings: BenchSettings;
  sections: SectionResult[];
}

const SECTION_TITLES: Record<(typeof SECTION_NAMES)[number], string> = {
  start: 'Sandbox start (create to first result: `print(1)`, or the pandas job where named)',
  delete: 'Sandbox delete (request to answer, with few and with many sandboxes alive)',
  execution: 'Execution round trip (sandbox already up)',
  concurrency: 'Concurrency (small pandas snippet per sandbox)',
  orchestration: 'Orchestration overhead (no model latency)',
  tools: 'Tool calls: local and MCP over stdio (no model latency)',
  memory: 'Memory',
  durable: 'Durable runs: checkpoints, resume and events replay (file store)',
  workers: 'Pipeline workers on one PostgreSQL: throughput, pick-up and take-over',
  serve: 'hopgen serve: event latency to SSE clients, and many clients on one server',
};

/** A number with as many decimals as its size deserves. */
export function formatNumber(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function formatRatio(figure: Figure): string {
  if (!figure.ratio) return '—';
  const { p50, p95, p99 } = figure.ratio;
  return `${formatNumber(p50)}× · ${formatNumber(p95)}× · ${formatNumber(p99)}×`;
}

/** The figure's targets, e.g. `target p50 30.0, p99 1000`, or undefined when it has none. */
export function targetsText(figure: Figure, unit = ''): string | undefined {
  const suffix = unit === '' ? '' : ` ${unit}`;
  const parts = [
    figure.targetP50 === undefined ? undefined : `p50 ${formatNumber(figure.targetP50)}${suffix}`,
    figure.targetP99 === undefined ? undefined : `p99 ${formatNumber(figure.targetP99)}${suffix}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? undefined : `target ${parts.join(', ')}`;
}

/** Whether the figure meets every target it has; undefined when it has none. */
export function meetsTargets(figure: Figure): boolean | undefined {
  if (figure.targetP50 === undefined && figure.targetP99 === undefined) return undefined;
  const within = (value: number, target: number | undefined) =>
    target === undefined || (figure.higherIsBetter ? value >= target : value <= target);
  return within(figure.summary.p50, figure.targetP50) && within(figure.summary.p99, figure.targetP99);
}

function row(figure: Figure): string {
  const { summary } = figure;
  const targets = targetsText(figure);
  const target = targets === undefined ? '' : ` (${targets})`;
  return [
    '',
    `${figure.label.trim()}${target}`,
    figure.unit,
    String(summary.runs),
    formatNumber(summary.p50),
    formatNumber(summary.mean),
    formatNumber(summary.p95),
    formatNumber(summary.p99),
    formatRatio(figure),
    figure.baselineId ? `\`${figure.baselineId}\`` : '—',
    '',
  ]
    .join(' | ')
    .trim();
}

/** The results as Markdown: one table per section, failures and missing parts stated in place. */
export function markdownTables(report: RunReport): string {
  const parts: string[] = [];
  for (const section of report.sections) {
    parts.push(`### ${SECTION_TITLES[section.section]}`, '');
    if (section.figures.length > 0) {
      parts.push(
        '| figure | unit | runs | p50 | mean | p95 | p99 | ratio to baseline (p50 · p95 · p99) | baseline |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
        ...section.figures.map(row),
        '',
      );
      const notes = section.figures.filter((figure) => figure.note !== undefined);
      if (notes.length > 0) {
        parts.push(...notes.map((figure) => `- ${figure.label.trim()}: ${figure.note}`), '');
      }
    }
    if (section.error) parts.push(`**Not measured:** ${section.error}`, '');
  }
  return parts.join('\n');
}

/** One line per machine fact, as Markdown. */
export function markdownMachine(report: RunReport): string {
  const { machine } = report;
  return [
    `- Run: ${report.startedAt}, ${report.mode} mode, ${(report.durationMs / 1000).toFixed(0)} s`,
    `- CPU: ${machine.cores} cores, ${machine.cpuModel}`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- OS and kernel: ${machine.os}, Linux ${machine.kernel}`,
    `- Node ${machine.node}; ${machine.python}; ${machine.bubblewrap}`,
    `- Load average (1/5/15 min) at start: ${machine.loadAverageAtStart.join(' / ')}; at end: ${machine.loadAverageAtEnd?.join(' / ') ?? 'not recorded'}`,
  ].join('\n');
}

/** The figures the project's speed claims rest on, with their targets, as a short Markdown list. */
export function markdownHeadline(report: RunReport): string {
  const figures = new Map(
    report.sections.flatMap((section) => section.figures).map((figure) => [figure.id, figure]),
  );
  const line = (id: string, text: string, options: { mean?: boolean } = {}) => {
    const figure = figures.get(id);
    if (!figure) return `- ${text}: not measured in this run`;
    const { p50, p99, runs, mean } = figure.summary;
    const meanText = options.mean ? `, mean **${formatNumber(mean)} ${figure.unit}**` : '';
    const targets = targetsText(figure, figure.unit);
    const target = targets === undefined ? '' : `; ${targets}`;
    const met = meetsTargets(figure);
    const verdict = met === undefined ? '' : met ? ': met' : ': **missed**';
    return `- ${text}: p50 **${formatNumber(p50)} ${figure.unit}**${meanText}, p99 ${formatNumber(p99)} ${figure.unit} (n=${runs}${target}${verdict})`;
  };
  const { burstSize, steadyIntervalMs } = report.settings.poolLoad;
  return [
    line('start.bwrap', 'Floor: a bare bwrap sandbox running `python3 -c print(1)`'),
    line('start.sdk.no-pool', 'New sandbox to first `print(1)` through the SDK, no pool'),
    line(
      'start.sdk.pool',
      'New sandbox to first `print(1)` through the SDK, warm pool refilled before each create',
    ),
    line('start.burst.pool', `The same, warm pool, ${burstSize} creates at once`),
    line('start.burst.no-pool', `The same, no pool, ${burstSize} creates at once`),
    line('start.steady.pool', `The same, warm pool, one create every ${steadyIntervalMs} ms`),
    line('start.steady.no-pool', `The same, no pool, one create every ${steadyIntervalMs} ms`),
    line('start.pandas.no-pool', 'New sandbox to first pandas result through the SDK, no pool'),
    line('start.burst.pool.pandas', `The same, warm pool, ${burstSize} creates at once`),
    line('start.burst.no-pool.pandas', `The same, no pool, ${burstSize} creates at once`),
    line('start.steady.pool.pandas', `The same, warm pool, one create every ${steadyIntervalMs} ms`),
    line('start.steady.no-pool.pandas', `The same, no pool, one create every ${steadyIntervalMs} ms`),
    line(
      'concurrency.burst.32.latency',
      '32 sandboxes created at once through `HopXCodeExecutor`, each to its first pandas result, no pool',
    ),
    line(
      'memory.sandbox.pandas.pss',
      `Proportional memory (PSS) of an idle sandbox with pandas imported, ${report.settings.memory?.sandboxes} alive`,
    ),
    line('memory.sandbox.pandas.pss.many', `The same, ${report.settings.memory?.manySandboxes} alive`),
    line('memory.sandbox.pandas.added', 'Memory one more such sandbox adds (what it wrote for itself)'),
    line('start.executor.no-pool', '`HopXCodeExecutor` first `print(1)`, no pool'),
    line('start.executor.pool', '`HopXCodeExecutor` first `print(1)`, warm pool'),
    line('execution.sdk.trivial', 'Stateful round trip (SDK `runIpython`) in a live sandbox'),
    line('execution.stateful.trivial', 'Stateful round trip through `HopXCodeExecutor`'),
    line('orchestration.group-chat.1000', 'Group-chat orchestration per round (1000-round chat)', {
      mean: true,
    }),
  ].join('\n');
}
