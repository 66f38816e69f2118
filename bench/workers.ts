import { fileURLToPath } from 'node:url';
import { JobQueue } from '@hopgen/worker';
import { createTestDatabase } from '../packages/postgres/test/test-database.js';
import { spawnWorker, type WorkerProcess } from '../packages/worker/test/support/worker-processes.js';
import type { FigureSet } from './figures.js';
import { startBenchModelServer } from './model-server.js';
import type { BenchSettings } from './settings.js';

const PIPELINES = fileURLToPath(new URL('./worker-pipelines.ts', import.meta.url));

/** Model-call arrival times (performance.now) per job name, and jobs whose first call hangs. */
class ScriptedModel {
  readonly arrivals = new Map<string, number[]>();
  readonly hangFirstCall = new Set<string>();
  server: { baseURL: string; close(): Promise<void> } | undefined;

  async start(): Promise<string> {
    this.server = await startBenchModelServer((messages) => {
      const opening = messages.find((message) => message.role === 'user')?.content ?? '';
      const name = /^bench (\S+) chat/.exec(opening)?.[1] ?? '?';
      const times = this.arrivals.get(name) ?? [];
      times.push(performance.now());
      this.arrivals.set(name, times);
      // The worker is killed while this call is open; the resumed run makes it again.
      if (times.length === 1 && this.hangFirstCall.has(name)) return 'hang';
      return { content: `Done with ${name}. TERMINATE` };
    });
    return this.server.baseURL;
  }

  /** Resolves with the arrival time of call number `count` (1-based) for job `name`. */
  async call(name: string, count: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const time = this.arrivals.get(name)?.[count - 1];
      if (time !== undefined) return time;
      if (performance.now() > deadline) throw new Error(`model call ${count} of ${name} never came`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/**
 * Pipeline workers on one PostgreSQL (`hopgen worker` processes, graphile-worker queue, PostgreSQL
 * run store): jobs per minute with 1, 2 and 4 worker processes (each concurrency 4), compared with
 * one worker in the same run; pick-up latency from submit to the job's first model call, with one
 * idle worker; and take-over time from SIGKILLing the worker holding a job (inside a model call) to
 * the model call made again by the worker that resumed it, with the default `takeoverMs` in full runs.
 */
export async function measureWorkers(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { workerCounts, jobsPerRound, rounds, pickups, takeovers, takeoverMs } = settings.workers;
  const database = await createTestDatabase();
  const model = new ScriptedModel();
  const environment = {
    DATABASE_URL: database.url,
    HOPGEN_BENCH_MODEL_URL: await model.start(),
  };
  const queue = new JobQueue({ connectionString: database.url });
  const workers: WorkerProcess[] = [];
  const spawn = async () => {
    workers.push(
      await spawnWorker(environment, ['--concurrency', '4', '--takeover-ms', String(takeoverMs)], PIPELINES),
    );
  };
  let jobs = 0;
  const submit = (name = `job${++jobs}`) => queue.submit('bench-chats', { name }, { id: name });
  try {
    await spawn();
    const pickupSamples: number[] = [];
    for (let index = 0; index < pickups + 1; index++) {
      const name = `pickup${index}`;
      const started = performance.now();
      const job = await submit(name);
      const firstCall = await model.call(name, 1, 30_000);
      await queue.wait(job.id, { pollMs: 20 });
      if (index > 0) pickupSamples.push(firstCall - started); // the first one warms the worker up
    }
    figures.add(
      'workers.pickup',
      "Pick-up: submit to the job's first model call (one idle worker)",
      'ms',
      pickupSamples,
    );

    for (const count of workerCounts) {
      while (workers.length < count) await spawn();
      const rates: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        const submitted = [];
        for (let index = 0; index < jobsPerRound; index++) submitted.push(await submit());
        for (const job of submitted) {
          const ended = await queue.wait(job.id, { pollMs: 20 });
          if (ended.state !== 'completed')
            throw new Error(`job ${job.id} ended ${ended.state}: ${ended.error}`);
        }
        rates.push(jobsPerRound / ((performance.now() - started) / 60_000));
      }
      figures.add(
        `workers.throughput.${count}`,
        `Jobs per minute, ${count} worker process${count === 1 ? '' : 'es'} (${jobsPerRound} three-chat jobs per round)`,
        'jobs/min',
        rates,
        {
          higherIsBetter: true,
          ...(count === workerCounts[0] ? {} : { baselineId: `workers.throughput.${workerCounts[0]}` }),
        },
      );
    }

    const takeoverSamples: number[] = [];
    for (let index = 0; index < takeovers; index++) {
      const name = `takeover${index}`;
      model.hangFirstCall.add(name);
      const job = await submit(name);
      await model.call(name, 1, 30_000);
      const holder = (await queue.get(job.id)).workerId;
      const victim = workers.find((worker) => worker.id === holder);
      if (!victim) throw new Error(`job ${job.id} is held by ${holder}, not a worker of this bench`);
      victim.child.kill('SIGKILL');
      const killedAt = performance.now();
      await victim.exited;
      workers.splice(workers.indexOf(victim), 1);
      // A replacement keeps the fleet's size; it may well be the worker that takes the job over.
      await spawn();
      takeoverSamples.push((await model.call(name, 2, takeoverMs * 3 + 30_000)) - killedAt);
      const ended = await queue.wait(job.id, { pollMs: 20 });
      if (ended.state !== 'completed') throw new Error(`job ${job.id} ended ${ended.state}: ${ended.error}`);
    }
    figures.add(
      'workers.takeover',
      `Take-over: SIGKILL of a job's worker to its resumed model call (takeoverMs ${takeoverMs})`,
      'ms',
      takeoverSamples,
      {
        note: `bound: takeoverMs + a third of it + the 1 s poll; default takeoverMs 15000 keeps it under 30 s`,
      },
    );
  } finally {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await queue.close();
    await model.server?.close();
    await database.drop();
  }
}
