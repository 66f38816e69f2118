import { ratioOf, type Summary, summarize } from './statistics.js';

/** The sections of a run, in the order they run and are reported. */
export const SECTION_NAMES = [
  'start',
  'delete',
  'execution',
  'concurrency',
  'orchestration',
  'tools',
  'memory',
  'durable',
  'workers',
  'serve',
] as const;

/** One section of the benchmark. */
export type SectionName = (typeof SECTION_NAMES)[number];

/** Unit of a figure. */
export type Unit = 'ms' | 'µs' | 'blocks/s' | 'events/s' | 'jobs/min' | 'MiB' | 'KiB/message';

/** One measured figure: percentiles over its runs, and its ratio to a baseline from the same run. */
export interface Figure {
  /** Stable identifier, e.g. `start.sdk.pool`. */
  id: string;
  section: SectionName;
  /** What was measured, for people. */
  label: string;
  unit: Unit;
  summary: Summary;
  /** Whether a larger value is better (throughput). @default false */
  higherIsBetter?: boolean;
  /** Id of the figure this one is compared with. */
  baselineId?: string;
  /** This figure's percentiles divided by the baseline's. */
  ratio?: { p50: number; p95: number; p99: number };
  /** A target the project set for this figure's p50, in the figure's unit. */
  targetP50?: number;
  /** A target the project set for this figure's p99 (the slowest runs), in the figure's unit. */
  targetP99?: number;
  /** A caveat worth printing next to the figure. */
  note?: string;
}

/** What a section measured, or why it could not. */
export interface SectionResult {
  section: SectionName;
  figures: Figure[];
  /** Wall time of the section, milliseconds. */
  durationMs: number;
  /** Set when the section failed or could not run: what is missing. */
  error?: string;
}

/** Collects the figures of one section and links each to its baseline. */
export class FigureSet {
  readonly figures: Figure[] = [];

  constructor(readonly section: SectionName) {}

  /** Adds a figure made from raw samples. */
  add(
    id: string,
    label: string,
    unit: Unit,
    samples: readonly number[],
    extra: Partial<Pick<Figure, 'baselineId' | 'higherIsBetter' | 'targetP50' | 'targetP99' | 'note'>> = {},
  ): Figure {
    const figure: Figure = { id, section: this.section, label, unit, summary: summarize(samples), ...extra };
    if (extra.baselineId !== undefined) {
      const baseline = this.find(extra.baselineId);
      if (baseline === undefined) throw new Error(`baseline ${extra.baselineId} of ${id} not measured yet`);
      figure.ratio = ratioOf(figure.summary, baseline.summary);
    }
    this.figures.push(figure);
    return figure;
  }

  /** The figure with this id, if it was measured. */
  find(id: string): Figure | undefined {
    return this.figures.find((figure) => figure.id === id);
  }
}
