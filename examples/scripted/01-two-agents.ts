import type { ModelRequest } from '@hopgen/agents';
import { capture, lastMessage, parseExecution, python, reportFailure } from './helpers.js';

/** Offline replies of example 1's assistant: first the code, then an answer read from its real output. */
export function assistantScript(request: ModelRequest): string {
  const execution = parseExecution(lastMessage(request));
  if (execution === undefined) {
    return `Plan: generate primes by trial division against the primes found so far, stop at 100 of them, then add them up.

${python(`
def first_primes(count):
    primes = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes

primes = first_primes(100)
print("First 10:", primes[:10])
print("Last 5:", primes[-5:])
print("Count:", len(primes))
print("Sum of the first 100 primes:", sum(primes))
`)}`;
  }
  if (execution.exitCode !== 0) return reportFailure(execution);
  const sum = capture(execution.output, /Sum of the first 100 primes:\s*(\d+)/);
  const last = capture(execution.output, /Last 5:\s*\[[^\]]*?(\d+)\]/);
  return `The code ran in the sandbox: the 100th prime is ${last}, and the sum of the first 100 prime numbers is ${sum}.\n\nTERMINATE`;
}
