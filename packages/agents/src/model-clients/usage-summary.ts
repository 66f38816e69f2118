import type { ModelClient } from './model-client.js';
import { mergeUsageSummaries, type UsageReport, type UsageSummary } from './usage.js';

/** Anything with a model client (an agent); `name` is used when printing. */
export interface HasModelClient {
  name?: string;
  modelClient: ModelClient | null;
}

/** Which summaries to print: live calls (`actual`), all calls including cached ones (`total`), or both. */
export type UsageSummaryMode = 'actual' | 'total' | readonly ('actual' | 'total')[];

/** Options of {@link printUsageSummary}. */
export interface PrintUsageSummaryOptions {
  /** @default ['actual', 'total'] */
  mode?: UsageSummaryMode;
  /** Receives each printed line. @default console.log */
  print?: (line: string) => void;
}

/**
 * Usage of several agents together (AutoGen's `gather_usage_summary`), with and without cached answers.
 * A client shared by several agents is counted once. Agents without a client add nothing.
 */
export function gatherUsageSummary(agents: readonly HasModelClient[]): UsageReport {
  const clients = [...new Set(agents.map((agent) => agent.modelClient).filter((client) => client !== null))];
  const reports = clients.map((client) => client.usage());
  return {
    usageIncludingCachedInference: mergeUsageSummaries(
      reports.map((report) => report.usageIncludingCachedInference),
    ),
    usageExcludingCachedInference: mergeUsageSummaries(
      reports.map((report) => report.usageExcludingCachedInference),
    ),
  };
}

/**
 * Prints usage in AutoGen's format. Given a list of agents, prints `Agent 'name':` and the summary of each
 * agent's client, or `No cost incurred from agent 'name'.`; given a client or a report, prints that.
 * An unknown cost prints as `unknown` (AutoGen has no such case).
 */
export function printUsageSummary(
  subject: readonly HasModelClient[] | ModelClient | UsageReport,
  options: PrintUsageSummaryOptions = {},
): void {
  const print = options.print ?? ((line: string) => console.log(line));
  const mode = options.mode ?? ['actual', 'total'];
  if (Array.isArray(subject)) {
    for (const agent of subject as readonly HasModelClient[]) {
      if (agent.modelClient === null) print(`No cost incurred from agent '${agent.name ?? ''}'.`);
      else {
        print(`Agent '${agent.name ?? ''}':`);
        for (const line of formatUsageSummary(agent.modelClient.usage(), mode)) print(line);
      }
    }
    return;
  }
  const report = 'usage' in subject ? subject.usage() : (subject as UsageReport);
  for (const line of formatUsageSummary(report, mode)) print(line);
}

/** The lines AutoGen's `print_usage_summary` prints for a report. */
export function formatUsageSummary(
  report: UsageReport,
  mode: UsageSummaryMode = ['actual', 'total'],
): string[] {
  const total = report.usageIncludingCachedInference;
  const actual = report.usageExcludingCachedInference;
  if (Object.keys(total.models).length === 0) return ['No usage summary. Please call "create" first.'];
  const chosen = resolveMode(mode);
  const lines = ['-'.repeat(100)];
  const actualOrNothing = Object.keys(actual.models).length === 0 ? null : actual;
  if (chosen === 'both') {
    lines.push(...usageLines(actualOrNothing, 'actual'), '');
    if (!sameSummary(total, actual)) lines.push(...usageLines(total, 'total'));
    else {
      lines.push(
        'All completions are non-cached: the total cost with cached completions is the same as actual cost.',
      );
    }
  } else if (chosen === 'total') lines.push(...usageLines(total, 'total'));
  else lines.push(...usageLines(actualOrNothing, 'actual'));
  lines.push('-'.repeat(100));
  return lines;
}

function resolveMode(mode: UsageSummaryMode): 'actual' | 'total' | 'both' {
  if (typeof mode === 'string') {
    if (mode === 'actual' || mode === 'total') return mode;
  } else if (mode.length > 0 && mode.length <= 2) {
    if (mode.includes('actual') && mode.includes('total')) return 'both';
    if (mode.includes('actual')) return 'actual';
    if (mode.includes('total')) return 'total';
  }
  throw new RangeError(
    `Invalid mode: ${JSON.stringify(mode)}, choose from "actual", "total", ["actual", "total"]`,
  );
}

function usageLines(summary: UsageSummary | null, type: 'actual' | 'total'): string[] {
  if (summary === null) return ['No actual cost incurred (all completions are using cache).'];
  const word = type === 'total' ? 'including' : 'excluding';
  const lines = [`Usage summary ${word} cached usage: `, `Total cost: ${formatCost(summary.totalCost)}`];
  for (const [model, usage] of Object.entries(summary.models)) {
    lines.push(
      `* Model '${model}': cost: ${formatCost(usage.cost)}, prompt_tokens: ${usage.promptTokens}, completion_tokens: ${usage.completionTokens}, total_tokens: ${usage.totalTokens}`,
    );
  }
  return lines;
}

/** A cost rounded to 5 decimals like Python's `round(x, 5)`; `unknown` when not known. */
export function formatCost(cost: number | null): string {
  if (cost === null) return 'unknown';
  return String(Math.round(cost * 100_000) / 100_000);
}

function sameSummary(a: UsageSummary, b: UsageSummary): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
