import { requestCancel } from '@hopgen/agents';
import { SANDBOX_RESTARTED_NOTICE } from '@hopgen/executors-hopx';
import { type JobRecord, type PipelineWorker, startWorker } from '@hopgen/worker';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../executors-hopx/test/support/fault-proxy.js';
import { liveSandboxIds } from '../../executors-hopx/test/support/local-server.js';
import { scriptedCoder } from './support/scripted-coder.js';
import { pipelines } from './support/test-pipelines.js';
import { runHopgen } from './support/worker-processes.js';
import { useWorkerTestBed } from './support/worker-test-bed.js';

const LONG_JOB = 900;
const FAILING_JOB = 500;
const RETRIED_JOB = 600;
/** Fails once like job 600; cancelled while it waits for its retry. */
const CANCELLED_RETRY_JOB = 610;
const workers: PipelineWorker[] = [];
const coder = scriptedCoder((job) => (job === LONG_JOB ? 60 : 0.5), [FAILING_JOB]);
let retriedJobFailures = 0;
let cancelledRetryFailures = 0;
// Job 900's block sleeps for a minute (to be cancelled); job 500's model always fails; job 600's
// model fails once, in chat 2, after chat 1's block made its sandbox (so the job waits for a retry).
const bed = useWorkerTestBed(
  (request) => {
    const messages = request.body.messages as { role: string; content: string }[];
    const opening = messages.find((message) => message.role === 'user')?.content ?? '';
    if (opening.startsWith(`job ${RETRIED_JOB} chat 2`) && retriedJobFailures === 0) {
      retriedJobFailures += 1;
      return { kind: 'error', status: 500, message: `model down once for job ${RETRIED_JOB}` };
    }
    if (opening.startsWith(`job ${CANCELLED_RETRY_JOB} chat 2`) && cancelledRetryFailures === 0) {
      cancelledRetryFailures += 1;
      return { kind: 'error', status: 500, message: `model down once for job ${CANCELLED_RETRY_JOB}` };
    }
    return coder(request);
  },
  async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  },
);

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('worker limits', () => {
  it('runs a submitted pipeline job to completion and stores each chat result with the job', async () => {
    workers.push(await startWorker({ connectionString: bed.databaseUrl, pipelines, takeoverMs: 3_000 }));
    const job = await bed.queue.submit('three-chats', { job: 1 });
    expect(job.state).toBe('queued');
    const done = await bed.queue.wait(job.id);
    expect(done.state).toBe('completed');
    expect(done.error).toBeNull();
    expect(done.result?.chats.map((chat) => chat.summary)).toEqual([
      'Chat 1 of job 1 done. ',
      'Chat 2 of job 1 done. ',
      'Chat 3 of job 1 done. ',
    ]);
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });

  it('holds the fleet-wide sandbox cap across two workers with more queued work than it allows', async () => {
    for (let index = 0; index < 2; index++) {
      workers.push(
        await startWorker({
          connectionString: bed.databaseUrl,
          pipelines,
          concurrency: 3,
          maxSandboxes: 2,
          takeoverMs: 3_000,
        }),
      );
    }
    const submitted: JobRecord[] = [];
    for (let job = 1; job <= 6; job++) submitted.push(await bed.queue.submit('three-chats', { job }));
    let mostSandboxes = 0;
    let mostRunning = 0;
    // Sampled on the sandbox server itself and in the database until every job is done.
    for (;;) {
      const jobs = (await bed.queue.list()).filter((job) => submitted.some((mine) => mine.id === job.id));
      mostSandboxes = Math.max(mostSandboxes, (await liveSandboxIds(bed.sandboxes)).length);
      mostRunning = Math.max(mostRunning, jobs.filter((job) => job.state === 'running').length);
      if (jobs.every((job) => job.state === 'completed' || job.state === 'dead')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ids = submitted.map((job) => job.id);
    const states = (await bed.queue.list()).filter((job) => ids.includes(job.id)).map((job) => job.state);
    expect(states).toEqual(Array(6).fill('completed'));
    // Six jobs were taken at once by the two workers (three each), but only two held sandboxes.
    expect(mostRunning).toBeGreaterThan(2);
    expect(mostSandboxes).toBe(2);
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
  }, 120_000);

  it('cancels a running job from the command line: its block stops and its sandbox is deleted', async () => {
    const job = await bed.queue.submit('three-chats', { job: LONG_JOB });
    await waitUntil(async () => {
      const entries = (await bed.store.loadRun(job.id))?.entries ?? [];
      return entries.at(-1)?.type === 'code-execution-start';
    }, 30_000);
    await waitUntil(async () => (await liveSandboxIds(bed.sandboxes)).length === 1, 10_000);
    const cancelled = await runHopgen(['jobs', 'cancel', job.id], bed.environment);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(job.id);
    const ended = await bed.queue.wait(job.id);
    expect(ended.state).toBe('cancelled');
    // Well before the block's minute of sleep was over.
    expect(ended.finishedAt! - ended.startedAt!).toBeLessThan(30_000);
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
    const shown = await runHopgen(['jobs', 'show', job.id], bed.environment);
    expect(shown.stdout).toMatch(/: cancelled/);
  }, 60_000);

  it('cancels a queued job before any worker takes it', async () => {
    const job = await bed.queue.submit('no-worker-has-this', { job: 1 });
    expect((await bed.queue.cancel(job.id)).state).toBe('cancelled');
    const client = new pg.Client({ connectionString: bed.databaseUrl });
    await client.connect();
    const left = await client.query(
      'SELECT count(*)::int AS count FROM graphile_worker.jobs WHERE key = $1',
      [job.id],
    );
    await client.end();
    expect(left.rows[0].count).toBe(0);
  });

  it('retries a failing job up to maxAttempts, then keeps it dead with its error', async () => {
    const job = await bed.queue.submit('three-chats', { job: FAILING_JOB }, { maxAttempts: 2 });
    const states: string[] = [];
    const ended = await bed.queue.wait(job.id, { onChange: (changed) => states.push(changed.state) });
    expect(ended.state).toBe('dead');
    expect(ended.attempts).toBe(2);
    expect(ended.error).toContain('model down for job 500');
    expect(states).toContain('retrying');
    const listed = await runHopgen(['jobs', 'list', '--state', 'dead'], bed.environment);
    expect(listed.stdout).toMatch(new RegExp(`^${job.id} +three-chats +dead +2 `, 'm'));
  }, 60_000);

  it('names the fix for bad options', async () => {
    await expect(startWorker({ connectionString: bed.databaseUrl, pipelines: [] })).rejects.toThrow(
      /needs pipelines/,
    );
    await expect(
      startWorker({ connectionString: bed.databaseUrl, pipelines, maxSandboxes: 0 }),
    ).rejects.toThrow(/maxSandboxes must be a number of at least 1/);
    // Node would turn a longer timer into a 1 ms one: the cancel poll would read in a tight loop.
    await expect(
      startWorker({ connectionString: bed.databaseUrl, pipelines, cancelPollMs: 1e10 }),
    ).rejects.toThrow(/cancelPollMs must be a number of milliseconds from 1 to 2147483647/);
    await expect(bed.queue.submit('three-chats', {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    await expect(bed.queue.get('no-such-job')).rejects.toThrow(/hopgen jobs list/);
    const help = await runHopgen(['worker', '--help'], bed.environment);
    expect(help.stdout).toContain('No password is needed on');
    const submit = await runHopgen(['submit', 'three-chats', '--input', '{bad'], bed.environment);
    expect(submit.code).toBe(1);
    expect(submit.stderr).toContain('--input is not JSON');
  });

  it('backs off when the sandbox service answers 429, without counting those attempts', async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    const proxy = await startFaultProxy(bed.sandboxes.baseURL);
    const isCreate = ({ method, path }: { method: string; path: string }) =>
      method === 'POST' && /\/sandboxes\/?$/.test(path.split('?')[0] ?? '');
    // The first four sandbox creations are refused, then the service recovers.
    proxy.injectFault({ kind: 'respond-429', match: isCreate, times: 4 });
    process.env.HOPX_BASE_URL = proxy.baseURL;
    try {
      workers.push(
        await startWorker({
          connectionString: bed.databaseUrl,
          pipelines,
          busyBackoffMs: 300,
          takeoverMs: 3_000,
        }),
      );
      // One attempt allowed: the job would be dead at once if a 429 counted.
      const job = await bed.queue.submit('three-chats', { job: 7 }, { maxAttempts: 1 });
      const errors: string[] = [];
      const ended = await bed.queue.wait(job.id, {
        pollMs: 20,
        onChange: (changed) => {
          if (changed.state === 'retrying') errors.push(changed.error ?? '');
        },
      });
      expect(ended.state, ended.error ?? '').toBe('completed');
      expect(ended.attempts).toBe(1);
      expect(proxy.requests.filter((request) => request.fault === 'respond-429')).toHaveLength(4);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(errors[0]).toContain('The sandbox service answered 429');
    } finally {
      process.env.HOPX_BASE_URL = bed.sandboxes.baseURL;
      await proxy.close();
    }
  }, 90_000);

  it('keeps the sandbox cap through a retry: a job waiting for its retry keeps no sandbox', async () => {
    // Only this worker's cap of 1 applies: the earlier tests' workers stop first.
    await Promise.all(workers.splice(0).map((running) => running.stop()));
    const worker = await startWorker({
      connectionString: bed.databaseUrl,
      pipelines,
      concurrency: 2,
      maxSandboxes: 1,
      takeoverMs: 3_000,
    });
    workers.push(worker);
    const retried = await bed.queue.submit('three-chats', { job: RETRIED_JOB });
    await waitUntil(async () => (await liveSandboxIds(bed.sandboxes)).length === 1, 30_000);
    // Queued behind the cap: it takes the slot the retried job gives back while it waits.
    const waiting = await bed.queue.submit('three-chats', { job: 601 });
    let mostSandboxes = 0;
    const states = new Set<string>();
    // Sampled on the sandbox server itself until both jobs are done.
    for (;;) {
      const jobs = (await bed.queue.list()).filter((job) => job.id === retried.id || job.id === waiting.id);
      mostSandboxes = Math.max(mostSandboxes, (await liveSandboxIds(bed.sandboxes)).length);
      for (const job of jobs) states.add(`${job.id === retried.id ? 'retried' : 'waiting'} ${job.state}`);
      if (jobs.every((job) => job.state === 'completed' || job.state === 'dead')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ended = await bed.queue.wait(retried.id);
    expect(ended.state, ended.error ?? '').toBe('completed');
    expect(ended.attempts).toBe(2);
    expect(states).toContain('retried retrying');
    expect((await bed.queue.wait(waiting.id)).state).toBe('completed');
    expect(mostSandboxes).toBe(1);
    // The retry resumed in a fresh sandbox and the model was told its earlier state was lost.
    const entries = await bed.store.readEntries(retried.id, 0);
    expect(JSON.stringify(entries)).toContain(SANDBOX_RESTARTED_NOTICE);
    await waitUntil(async () => (await liveSandboxIds(bed.sandboxes)).length === 0, 30_000);
    await Promise.all(workers.splice(0).map((running) => running.stop()));
  }, 90_000);

  it('a job waiting for its retry takes a cancel stored with its run: the retry stops before it runs anything', async () => {
    await Promise.all(workers.splice(0).map((running) => running.stop()));
    workers.push(await startWorker({ connectionString: bed.databaseUrl, pipelines, takeoverMs: 3_000 }));
    const job = await bed.queue.submit('three-chats', { job: CANCELLED_RETRY_JOB });
    // graphile-worker retries after exp(attempts) seconds (about 2.7 s): the worker is stopped at once,
    // so the retry cannot start before the cancel is stored, however slow the machine; a new worker
    // takes the retry when it is due.
    await waitUntil(async () => (await bed.queue.get(job.id)).state === 'retrying', 30_000);
    await Promise.all(workers.splice(0).map((running) => running.stop()));
    const failedAt = (await bed.store.readEntries(job.id, 0)).length;
    expect((await bed.store.readEntries(job.id, 0)).at(-1)?.type).toBe('run-failed');
    // What POST /api/runs/{runId}/cancel does for a failed run (packages/server/test/run-cancel.test.ts).
    expect(await requestCancel(bed.store, job.id)).toBe('run:cancel:1');
    workers.push(await startWorker({ connectionString: bed.databaseUrl, pipelines, takeoverMs: 3_000 }));
    const ended = await bed.queue.wait(job.id);
    expect(ended.state, ended.error ?? '').toBe('cancelled');
    const after = (await bed.store.readEntries(job.id, 0)).slice(failedAt);
    expect(after.map((entry) => [entry.type, entry.data])).toEqual([
      ['run-stopped', { cancel: 'run:cancel:1' }],
    ]);
    expect(JSON.stringify(await bed.store.readEntries(job.id, 0))).not.toContain(
      `job ${CANCELLED_RETRY_JOB} chat 3`,
    );
    await Promise.all(workers.splice(0).map((running) => running.stop()));
  }, 90_000);
});
