/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * A small, fast, seedable generator (mulberry32). The same seed gives the same sequence on every
 * platform, so a `'random'` group chat can be replayed.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `index`-th number (0-based) of `seededRandom(seed)`, computed directly: mulberry32's state only
 * adds a constant per draw, so a run can store its position instead of the generator.
 */
export function seededRandomAt(seed: number, index: number): number {
  let t = ((seed >>> 0) + (index + 1) * 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A random source from a seed, a function, or `Math.random` when neither is given. */
export function toRandomSource(random: number | RandomSource | undefined): RandomSource {
  if (random === undefined) return Math.random;
  if (typeof random === 'number') return seededRandom(random);
  return random;
}
