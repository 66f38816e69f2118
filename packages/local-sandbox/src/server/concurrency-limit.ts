/**
 * At most `max` holders at a time; the others wait in arrival order. Bounds work a client can start at
 * once, so its own load makes it wait instead of failing (or starving others).
 */
export class ConcurrencyLimit {
  readonly #max: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Resolves with the release function once a slot is free. Call the release exactly once. */
  async acquire(): Promise<() => void> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so the count never drops and rises again.
      if (next) next();
      else this.#active--;
    };
  }
}
