/** Percentiles and summaries of benchmark samples. */

/** p50, p95 and p99 of a set of samples, with the number of runs they come from. */
export interface Summary {
  /** Number of samples. */
  runs: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/**
 * The `fraction` quantile (0..1) of samples sorted ascending, interpolating linearly between the two
 * nearest ranks (numpy's default). With fewer than 100 samples p99 lies between the two largest.
 */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  const position = (sorted.length - 1) * fraction;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower]!;
  const high = sorted[upper]!;
  return low + (high - low) * (position - lower);
}

/** Summarises samples; throws on an empty set so a section that measured nothing cannot pass. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarise');
  for (const value of samples) {
    if (!Number.isFinite(value)) throw new Error(`non-finite sample ${value}`);
  }
  const sorted = [...samples].sort((left, right) => left - right);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    runs: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    mean: total / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** Each percentile of `value` divided by the same percentile of `baseline`. */
export function ratioOf(value: Summary, baseline: Summary): { p50: number; p95: number; p99: number } {
  return {
    p50: value.p50 / baseline.p50,
    p95: value.p95 / baseline.p95,
    p99: value.p99 / baseline.p99,
  };
}
