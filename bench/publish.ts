import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChartSvg } from './chart.js';
import type { Figure } from './figures.js';
import { markdownFindings } from './findings.js';
import { markdownHeadline, markdownMachine, markdownTables, type RunReport } from './report.js';
import { START_PATH_IDS } from './sandbox-start.js';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));
const fromRoot = (path: string) => `${repositoryRoot}${path}`;

/** Where each kind of run writes its JSON: only a full run overwrites the committed results. */
export function resultsPath(mode: RunReport['mode']): string {
  return fromRoot(mode === 'full' ? 'bench/results/latest.json' : `bench/results/${mode}.json`);
}

/** Writes the run's JSON results; returns the path. */
export async function writeResults(report: RunReport): Promise<string> {
  const path = resultsPath(report.mode);
  await mkdir(dirname(path), { recursive: true });
  // Three decimals are below the noise of every figure and keep the committed file's diffs readable.
  const rounded = (_key: string, value: unknown) =>
    typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
  await writeFile(path, `${JSON.stringify(report, rounded, 2)}\n`);
  return path;
}

/** Replaces what lies between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`. */
export function replaceGenerated(document: string, name: string, content: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/performance.md lacks the ${start} ... ${end} markers`);
  return `${document.slice(0, from + start.length)}\n${content.trim()}\n${document.slice(to)}`;
}

/** Rewrites the generated parts of docs/performance.md and the start-time chart from a full run. */
export async function publishDocs(report: RunReport): Promise<string[]> {
  const docPath = fromRoot('docs/performance.md');
  const chartPath = fromRoot('docs/performance-start.svg');
  let document = await readFile(docPath, 'utf8');
  document = replaceGenerated(document, 'headline', markdownHeadline(report));
  document = replaceGenerated(document, 'findings', markdownFindings(report));
  document = replaceGenerated(document, 'machine', markdownMachine(report));
  document = replaceGenerated(document, 'results', markdownTables(report));
  await writeFile(docPath, document);
  const figures = report.sections.flatMap((section) => section.figures);
  const startFigures = START_PATH_IDS.map((id) => figures.find((figure) => figure.id === id)).filter(
    (figure): figure is Figure => figure !== undefined,
  );
  const written = [docPath];
  if (startFigures.length > 0) {
    const { machine } = report;
    await writeFile(
      chartPath,
      barChartSvg(
        'Create to first print(1) result, by path',
        `bar p50, tick p95, line to p99; ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, ${report.startedAt.slice(0, 10)}`,
        startFigures,
      ),
    );
    written.push(chartPath);
  }
  return written;
}
