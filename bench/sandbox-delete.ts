import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { type BenchServer, startBenchServer } from './local-server.js';
import type { BenchSettings } from './settings.js';

function create(server: BenchServer): Promise<Sandbox> {
  return Sandbox.create({ template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL });
}

/**
 * Creates sandboxes until `count` are alive, a few at a time, and waits until each has answered a run
 * (untimed): a create answers before its interpreter is up, and 400 interpreters still starting would
 * load the machine during the timed deletes, which is not what this compares.
 */
async function fillTo(server: BenchServer, alive: Sandbox[], count: number): Promise<void> {
  const first = alive.length;
  while (alive.length < count) {
    const batch = Math.min(8, count - alive.length);
    alive.push(...(await Promise.all(Array.from({ length: batch }, () => create(server)))));
  }
  for (let index = first; index < alive.length; index += 16) {
    await Promise.all(alive.slice(index, index + 16).map((sandbox) => sandbox.runCode('1')));
  }
}

/** `iterations` deletes, each of a sandbox created just before (untimed), while the others stay alive. */
async function timedDeletes(server: BenchServer, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const sandbox = await create(server);
    const startedAt = performance.now();
    await sandbox.kill();
    samples.push(performance.now() - startedAt);
  }
  return samples;
}

/**
 * The cost of deleting one sandbox (SDK `kill`, request to response: processes, cgroup, mounts and
 * directories released) with few and with many sandboxes alive on the same server, in one run: a
 * teardown that scanned every sandbox or mount would grow with the second number.
 */
export async function measureSandboxDelete(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { fewAlive, manyAlive, iterations } = settings.delete;
  const server = await startBenchServer(0);
  const alive: Sandbox[] = [];
  try {
    await fillTo(server, alive, fewAlive);
    await timedDeletes(server, 2);
    const few = await timedDeletes(server, iterations);
    await fillTo(server, alive, manyAlive);
    await timedDeletes(server, 2);
    const many = await timedDeletes(server, iterations);
    figures.add('start.delete.few', `delete one sandbox, ${fewAlive} others alive`, 'ms', few);
    figures.add('start.delete.many', `delete one sandbox, ${manyAlive} others alive`, 'ms', many, {
      baselineId: 'start.delete.few',
      note: 'the ratio stays near 1 when teardown does not depend on how many sandboxes are alive',
    });
  } finally {
    while (alive.length > 0) await Promise.all(alive.splice(0, 16).map((sandbox) => sandbox.kill()));
    await server.close();
  }
}
