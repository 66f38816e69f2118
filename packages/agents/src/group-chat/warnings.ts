const emitted = new WeakMap<object, Set<string>>();

/**
 * Emits a process warning (type `HopgenWarning`) once per owner and text, where AutoGen logs a
 * warning: a chat that repeats every round would otherwise flood the console.
 */
export function warnOnce(owner: object, message: string): void {
  let seen = emitted.get(owner);
  if (seen === undefined) {
    seen = new Set();
    emitted.set(owner, seen);
  }
  if (seen.has(message)) return;
  seen.add(message);
  process.emitWarning(message, { type: 'HopgenWarning' });
}
