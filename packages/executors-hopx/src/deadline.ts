/**
 * Waits for `work` at most `milliseconds`, then throws `onExpired()`; the work itself goes on (an
 * HTTP call of the SDK cannot be cancelled), so its late rejection is swallowed here.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  milliseconds: number,
  onExpired: () => Error,
): Promise<T> {
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpired()), milliseconds);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The executor's wait for the sandbox service, from its options. Every figure is in milliseconds. */
export interface ExecutionDeadlines {
  /** Longest wait for one answer of the sandbox service to a request that runs no code. */
  requestMs: number;
  /** Longest wait for one block's run to answer: its own time limit, the server's backstop, one request. */
  runMs: number;
  /** Longest one attempt at a block takes in the sandbox: the run plus two requests (image files). */
  attemptMs: number;
}

/**
 * The deadlines of an executor whose blocks may run `timeoutMs` and whose server backstop fires
 * `serverGraceMs` later (the server's own timeout is whole seconds, so it is rounded up).
 */
export function executionDeadlines(options: {
  timeoutMs: number;
  requestTimeoutMs: number;
  serverGraceMs: number;
}): ExecutionDeadlines {
  const runMs = Math.ceil(options.timeoutMs / 1000) * 1000 + options.serverGraceMs + options.requestTimeoutMs;
  return { requestMs: options.requestTimeoutMs, runMs, attemptMs: runMs + 2 * options.requestTimeoutMs };
}
