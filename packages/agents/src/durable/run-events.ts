import type { RunEntry, RunStore } from './run-store.js';

/** A run's event in its JSON form: a log entry plus the run's id. */
export interface RunEvent extends RunEntry {
  /** The run it belongs to. */
  runId: string;
}

/** Entries after which a run goes on only if it is resumed; `run-finished` always ends it. */
const ENDINGS = new Set(['run-stopped', 'run-failed']);

/** How often a reader in another process looks for new entries, in milliseconds. */
const FOLLOW_POLL_MS = 50;

/**
 * Replays a run's entries after `after` from the store, then follows new ones until the run ends.
 * In the run's own process, `subscribe` delivers entries as they are written; elsewhere the store
 * is polled. Entries are delivered once each, in sequence order.
 */
export async function* followEvents(options: {
  store: RunStore;
  runId: string;
  after: number;
  subscribe?: (listener: (entry: RunEntry) => void) => () => void;
  isDone?: () => boolean;
  /** Calls the listener once when the run ends; returns the function that removes it (called when this reader ends). */
  subscribeEnd?: (listener: () => void) => () => void;
  signal?: AbortSignal;
}): AsyncGenerator<RunEvent> {
  const { store, runId, signal } = options;
  const buffered: RunEntry[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  // Listen before reading the store, so nothing written in between is missed (duplicates are skipped).
  const unsubscribe = options.subscribe?.((entry) => {
    buffered.push(entry);
    poke();
  });
  // Removable, unlike a reaction to the run's result: a long run watched by many reconnecting
  // readers must not keep one listener per reader that ever came.
  const stopWatchingEnd = options.subscribeEnd?.(poke);
  signal?.addEventListener('abort', poke, { once: true });
  let last = options.after;
  try {
    for (;;) {
      const fresh =
        unsubscribe && buffered.length > 0 && buffered[0]!.sequence <= last + 1
          ? buffered.splice(0)
          : await store.readEntries(runId, last);
      const superseded = supersededDeltas(fresh);
      for (const [index, entry] of fresh.entries()) {
        if (entry.sequence <= last) continue;
        last = entry.sequence;
        if (superseded.has(entry)) continue;
        yield { ...entry, runId };
        // A stop or failure followed by more entries was resumed since: read on.
        if (entry.type === 'run-finished' || (ENDINGS.has(entry.type) && index === fresh.length - 1)) return;
      }
      if (signal?.aborted) return;
      if (options.isDone?.() && buffered.length === 0) {
        // The run stopped (finished or failed): hand out whatever reached the store, then end.
        const rest = await store.readEntries(runId, last);
        const supersededRest = supersededDeltas(rest);
        for (const entry of rest) {
          last = entry.sequence;
          if (!supersededRest.has(entry)) yield { ...entry, runId };
        }
        return;
      }
      if (buffered.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (!unsubscribe) setTimeout(poke, FOLLOW_POLL_MS);
        });
      }
    }
  } finally {
    unsubscribe?.();
    stopWatchingEnd?.();
    // A long-lived signal shared by many readers must not keep one listener per reader that ended.
    signal?.removeEventListener('abort', poke);
  }
}

/**
 * `text-delta` entries of a model call that was made again after a crash (a later try of the same
 * message streamed too): a replay hands out only the last try's text, never a mix of two.
 */
function supersededDeltas(entries: readonly RunEntry[]): Set<RunEntry> {
  const latest = new Map<unknown, number>();
  for (const entry of entries) {
    if (entry.type !== 'text-delta') continue;
    const attempt = Number(entry.data['attempt'] ?? 0);
    if (attempt > (latest.get(entry.data['messageId']) ?? 0)) latest.set(entry.data['messageId'], attempt);
  }
  const superseded = new Set<RunEntry>();
  if (latest.size === 0) return superseded;
  for (const entry of entries) {
    if (entry.type !== 'text-delta') continue;
    if (Number(entry.data['attempt'] ?? 0) < (latest.get(entry.data['messageId']) ?? 0))
      superseded.add(entry);
  }
  return superseded;
}

/**
 * Reads a run's events from any process: the stored ones after `after`, then new ones as the
 * running process writes them (polling the store), until the run finishes, fails or is stopped
 * (`run-finished`, `run-failed`, `run-stopped`), or `signal` aborts.
 */
export function readRunEvents(
  store: RunStore,
  runId: string,
  options: { after?: number; signal?: AbortSignal } = {},
): AsyncIterable<RunEvent> {
  return followEvents({
    store,
    runId,
    after: options.after ?? 0,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
