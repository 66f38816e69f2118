/**
 * `pnpm bench`: measures sandbox start, execution, concurrency, orchestration and memory in one run,
 * prints a Markdown table, writes bench/results/latest.json and regenerates docs/performance.md.
 * `pnpm bench --quick`: a smoke pass over every section that writes bench/results/quick.json only.
 * `--sections=start,memory` runs some sections (written to bench/results/partial.json).
 */

// Not public API: the executor's exit watcher lives as long as this process, by design.
import { reaperProcessId } from '../packages/executors-hopx/src/process-exit-cleanup.js';
import { measureConcurrency } from './concurrency.js';
import { measureDurableRuns } from './durable-runs.js';
import { measureExecution } from './execution.js';
import { FigureSet, SECTION_NAMES, type SectionName, type SectionResult } from './figures.js';
import { measureGroupChat } from './group-chat.js';
import { currentLoadAverage, describeMachine } from './machine.js';
import { measureMcpTools } from './mcp-tools.js';
import { measureMemory } from './memory.js';
import { measureNoisyNeighbour } from './noisy-neighbour.js';
import { measurePoolUnderLoad } from './pool-under-load.js';
import { descendantsOf } from './proc-memory.js';
import { publishDocs, writeResults } from './publish.js';
import { markdownTables, type RunReport } from './report.js';
import { measureRunList } from './run-list.js';
import { measureSandboxDelete } from './sandbox-delete.js';
import { measureSandboxStart } from './sandbox-start.js';
import { measureServe } from './serve.js';
import { type BenchSettings, FULL_SETTINGS, QUICK_SETTINGS } from './settings.js';
import { measureTwoAgentChat } from './two-agent-chat.js';
import { measureWorkers } from './workers.js';

type SectionRunner = (settings: BenchSettings, figures: FigureSet) => Promise<void>;

const RUNNERS: Record<SectionName, SectionRunner> = {
  start: async (settings, figures) => {
    await measureSandboxStart(settings, figures);
    await measurePoolUnderLoad(settings, figures);
  },
  delete: measureSandboxDelete,
  execution: measureExecution,
  concurrency: async (settings, figures) => {
    await measureConcurrency(settings, figures);
    await measureNoisyNeighbour(settings, figures);
  },
  orchestration: async (settings, figures) => {
    await measureTwoAgentChat(settings, figures);
    await measureGroupChat(settings, figures);
  },
  tools: measureMcpTools,
  memory: measureMemory,
  durable: measureDurableRuns,
  workers: measureWorkers,
  serve: async (settings, figures) => {
    await measureServe(settings, figures);
    await measureRunList(settings, figures);
  },
};

function parseArguments(argv: string[]): {
  settings: BenchSettings;
  sections: SectionName[];
  partial: boolean;
} {
  let settings = FULL_SETTINGS;
  let sections: SectionName[] = [...SECTION_NAMES];
  let partial = false;
  for (const argument of argv) {
    if (argument === '--') continue;
    if (argument === '--quick') settings = QUICK_SETTINGS;
    else if (argument.startsWith('--sections=')) {
      const wanted = argument.slice('--sections='.length).split(',');
      for (const name of wanted) {
        if (!(SECTION_NAMES as readonly string[]).includes(name)) {
          throw new Error(`unknown section ${name}; sections are ${SECTION_NAMES.join(', ')}`);
        }
      }
      sections = SECTION_NAMES.filter((name) => wanted.includes(name));
      partial = true;
    } else {
      throw new Error(
        `unknown argument ${argument}; use --quick and/or --sections=${SECTION_NAMES.join(',')}`,
      );
    }
  }
  return { settings, sections, partial };
}

async function runSection(name: SectionName, settings: BenchSettings): Promise<SectionResult> {
  const figures = new FigureSet(name);
  const startedAt = performance.now();
  process.stderr.write(`bench: ${name} ...\n`);
  let error: string | undefined;
  try {
    await RUNNERS[name](settings, figures);
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    process.stderr.write(`bench: ${name} failed: ${caught instanceof Error ? caught.stack : error}\n`);
  }
  const durationMs = performance.now() - startedAt;
  process.stderr.write(`bench: ${name} done in ${(durationMs / 1000).toFixed(1)} s\n`);
  return { section: name, figures: figures.figures, durationMs, ...(error ? { error } : {}) };
}

/**
 * Fails when a sandbox or any other child process outlived its section. tsx's own esbuild service
 * predates them; the executor's exit watcher (which deletes sandboxes left behind when this process
 * dies) is meant to outlive them.
 */
async function assertNothingLeftRunning(before: readonly number[]): Promise<void> {
  const started = () =>
    descendantsOf(process.pid).filter((pid) => !before.includes(pid) && pid !== reaperProcessId());
  // Killed processes can take a moment to be reaped.
  for (let attempt = 0; attempt < 20; attempt++) {
    if (started().length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`processes left running after the benchmark: ${started().join(', ')}`);
}

/** A run that takes this long has hung (a sandbox that never answers): fail rather than block CI. */
const WATCHDOG_MS = { full: 10 * 60_000, quick: 5 * 60_000 };

async function main(): Promise<number> {
  const { settings, sections, partial } = parseArguments(process.argv.slice(2));
  setTimeout(() => {
    process.stderr.write(`bench: no result after ${WATCHDOG_MS[settings.mode] / 1000} s; giving up\n`);
    // Sandboxes are spawned with --die-with-parent, so exiting takes them down too.
    process.exit(2);
  }, WATCHDOG_MS[settings.mode]).unref();
  const mode = partial ? 'partial' : settings.mode;
  const startedAt = new Date();
  const began = performance.now();
  const machine = describeMachine();
  const childrenBefore = descendantsOf(process.pid);
  const results: SectionResult[] = [];
  for (const name of sections) results.push(await runSection(name, settings));
  let failed = results.some((result) => result.error !== undefined);
  try {
    await assertNothingLeftRunning(childrenBefore);
  } catch (error) {
    failed = true;
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  const report: RunReport = {
    mode,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - began,
    machine: { ...machine, loadAverageAtEnd: currentLoadAverage() },
    settings,
    sections: results,
  };
  process.stdout.write(`${markdownTables(report)}\n`);
  const written = [await writeResults(report)];
  if (mode === 'full') written.push(...(await publishDocs(report)));
  process.stderr.write(`bench: wrote ${written.join(', ')} in ${(report.durationMs / 1000).toFixed(0)} s\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
