import { InvalidOptionError } from './errors.js';

/** The longest delay Node's timers accept, in milliseconds (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Checks a duration option in milliseconds, so a typo never turns into an instant timeout. */
export function assertDurationMs(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 1 && value <= MAX_TIMER_MS)) {
    throw new InvalidOptionError(
      `${name} must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${value}. Pass e.g. { ${name}: 60_000 } for one minute.`,
    );
  }
}
