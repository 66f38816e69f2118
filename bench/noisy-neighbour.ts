import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { withBenchServer } from './local-server.js';
import type { BenchSettings } from './settings.js';

// Finds the interpreter's reply pipe and the pending request from its own frames, then floods the pipe
// from a thread with newline-ended 30 MiB JSON lines (plain, and behind the pending call's id) while
// the cell sleeps: the attack of issue 19.
const FLOOD = `
import os, sys, threading, time
frame = sys._getframe()
while frame is not None and frame.f_code.co_name != "serve":
    frame = frame.f_back
pipe = frame.f_locals["output"].fileno()
request = frame.f_locals["request"]
line = b"[" + b"0," * (15 * 2**20) + b"0]\\n"
forged = b'{"id": "' + request["id"].encode() + b'", "x": ' + line[:-1] + b'}\\n'
def flood():
    while True:
        try:
            os.write(pipe, forged)
            os.write(pipe, line)
        except OSError:
            return
threading.Thread(target=flood, daemon=True).start()
time.sleep(%SECONDS%)
`;

/** One `print(6 * 7)` round trip in a fresh process of `sandbox`, milliseconds. */
async function roundTrip(sandbox: Sandbox): Promise<number> {
  const startedAt = performance.now();
  const result = await sandbox.runCode('print(6 * 7)', { language: 'python', timeout: 30 });
  if (result.stdout !== '42\n') throw new Error(`the bystander answered ${JSON.stringify(result.stdout)}`);
  return performance.now() - startedAt;
}

/**
 * What a sandbox flooding its interpreter's reply pipe adds to another sandbox's round trip: the
 * bystander's `print(6 * 7)` with a quiet neighbour (the baseline), then while the neighbour attacks
 * back to back. The server ends a flooding call early (it takes the first line behind the call's id
 * as the reply) and restarts the interpreter once the junk of the next call passes its bound, so one
 * call floods for well under a second: the neighbour keeps calling until the bystander has its samples.
 */
export async function measureNoisyNeighbour(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { samples, floodSeconds } = settings.noisyNeighbour;
  await withBenchServer(0, async (server) => {
    const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
    const [bystander, neighbour] = await Promise.all([Sandbox.create(options), Sandbox.create(options)]);
    try {
      for (let warmup = 0; warmup < 3; warmup++) await roundTrip(bystander);
      const quiet: number[] = [];
      for (let index = 0; index < samples; index++) quiet.push(await roundTrip(bystander));
      const attack = () =>
        neighbour
          .runIpython(FLOOD.replace('%SECONDS%', String(floodSeconds)), { timeout: 60 })
          .catch(() => {});
      // The first call settles once its flood has reached the server: measuring starts under attack.
      await attack();
      let attacking = true;
      const attacker = (async () => {
        while (attacking) await attack();
      })();
      const flooded: number[] = [];
      try {
        while (flooded.length < samples) flooded.push(await roundTrip(bystander));
      } finally {
        attacking = false;
        await attacker;
      }
      figures.add('concurrency.neighbour.quiet', 'print(6*7) round trip, neighbour idle', 'ms', quiet);
      figures.add(
        'concurrency.neighbour.flood',
        'print(6*7) round trip, neighbour flooding its reply pipe with 30 MiB lines',
        'ms',
        flooded,
        { baselineId: 'concurrency.neighbour.quiet' },
      );
    } finally {
      await Promise.allSettled([bystander.kill(), neighbour.kill()]);
    }
  });
}
