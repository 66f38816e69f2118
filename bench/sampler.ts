/** Times operations repeatedly, after warm-up runs that are thrown away. */

/** One operation to time, with untimed preparation and clean-up around each run (state lives in closures). */
export interface Probe {
  /** Untimed set-up before each run. */
  prepare?: () => Promise<void>;
  /** The timed operation. */
  measure: () => Promise<void>;
  /** Untimed clean-up after each run, also after a failed one. */
  cleanup?: () => Promise<void>;
}

/** Warm-up runs (thrown away) and kept runs. */
export interface SampleCounts {
  warmup: number;
  iterations: number;
}

async function runOnce(probe: Probe): Promise<number> {
  if (probe.prepare) await probe.prepare();
  try {
    const startedAt = performance.now();
    await probe.measure();
    return performance.now() - startedAt;
  } finally {
    if (probe.cleanup) await probe.cleanup();
  }
}

/** Milliseconds of each kept run of one probe. */
export async function sample(counts: SampleCounts, probe: Probe): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < counts.warmup + counts.iterations; index++) {
    const elapsed = await runOnce(probe);
    if (index >= counts.warmup) samples.push(elapsed);
  }
  return samples;
}

/**
 * Milliseconds of each kept run of several probes, run in turn (one run of each per round), so that
 * load from other work on the machine falls on all of them alike and they stay comparable.
 */
export async function sampleInterleaved<Name extends string>(
  counts: SampleCounts,
  probes: Record<Name, Probe>,
): Promise<Record<Name, number[]>> {
  const names = Object.keys(probes) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (let index = 0; index < counts.warmup + counts.iterations; index++) {
    for (const name of names) {
      const elapsed = await runOnce(probes[name]);
      if (index >= counts.warmup) samples[name].push(elapsed);
    }
  }
  return samples;
}
