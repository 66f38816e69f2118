/** Longest delay one Node timer takes; longer ones fire after 1 ms (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer of any length, from {@link setLongTimeout}. */
export interface LongTimer {
  /** Cancels the timer. */
  clear(): void;
}

/** Like `setTimeout`, but chains timers so a delay above 2^31-1 ms (about 24.8 days) waits its whole length. */
export function setLongTimeout(
  callback: () => void,
  delayMs: number,
  options: { unref?: boolean } = {},
): LongTimer {
  const deadline = Date.now() + delayMs;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= MAX_TIMER_MS) {
      timer = setTimeout(callback, Math.max(0, left));
    } else {
      timer = setTimeout(arm, MAX_TIMER_MS);
    }
    if (options.unref) timer.unref();
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}
