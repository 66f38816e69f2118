import { INTERRUPTED_CODE_OUTPUT, type RunEntry } from '@hopgen/agents';
import { SANDBOX_RESTARTED_NOTICE } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { liveSandboxIds } from '../../executors-hopx/test/support/local-server.js';
import { blockLine, scriptedCoder } from './support/scripted-coder.js';
import { runHopgen, spawnWorker, type WorkerProcess } from './support/worker-processes.js';
import { useWorkerTestBed } from './support/worker-test-bed.js';

const JOBS = 30;
const workers: WorkerProcess[] = [];
// Blocks sleep 1.5 s after appending their line: the window in which a worker is killed mid-block.
const bed = useWorkerTestBed(scriptedCoder(1.5), async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
});

/** A running job whose worker is alive and whose last log entry is the start of a code block. */
async function jobMidBlock(
  client: pg.Client,
  alive: readonly string[],
): Promise<{ jobId: string; workerId: string }> {
  for (;;) {
    const found = await client.query<{ id: string; worker_id: string }>(
      `SELECT job.id, job.worker_id FROM hopgen.jobs AS job
       WHERE job.state = 'running' AND job.worker_id = ANY($1)
         AND (SELECT type FROM hopgen.run_entries AS entry WHERE entry.run_id = job.id ORDER BY sequence DESC LIMIT 1) = 'code-execution-start'
       LIMIT 1`,
      [alive],
    );
    const row = found.rows[0];
    if (row) return { jobId: row.id, workerId: row.worker_id };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The code-execution-end entries of a run, with the block's code and output. */
function blocks(entries: readonly RunEntry[]): { code: string; output: string; interrupted: boolean }[] {
  return entries
    .filter((entry) => entry.type === 'code-execution-end')
    .map((entry) => {
      const data = entry.data as {
        codeBlocks: { code: string }[];
        result: { output: string };
        interrupted?: boolean;
      };
      return {
        code: data.codeBlocks.map((block) => block.code).join('\n'),
        output: data.result.output,
        interrupted: data.interrupted === true,
      };
    });
}

describe('a fleet of worker processes on one PostgreSQL', () => {
  it('completes 30 jobs once each while two workers are SIGKILLed mid-block, every block counted once in its sandbox', async () => {
    for (let index = 0; index < 3; index++)
      workers.push(await spawnWorker(bed.environment, ['--concurrency', '3', '--takeover-ms', '3000']));
    for (let job = 1; job <= JOBS; job++)
      await bed.queue.submit('three-chats', { job }, { id: `job-${job}` });

    const client = new pg.Client({ connectionString: bed.databaseUrl });
    await client.connect();
    const killedJobs: string[] = [];
    try {
      for (let kill = 0; kill < 2; kill++) {
        const alive = workers.filter(
          (worker) => worker.child.exitCode === null && worker.child.signalCode === null,
        );
        const { jobId, workerId } = await jobMidBlock(
          client,
          alive.map((worker) => worker.id),
        );
        const victim = alive.find((worker) => worker.id === workerId) as WorkerProcess;
        victim.child.kill('SIGKILL');
        expect(await victim.exited).toBeNull();
        killedJobs.push(jobId);
        workers.push(await spawnWorker(bed.environment, ['--concurrency', '3', '--takeover-ms', '3000']));
      }
    } finally {
      await client.end();
    }

    let jobs = await bed.queue.list();
    const deadline = Date.now() + 150_000;
    while (jobs.some((job) => job.state !== 'completed' && job.state !== 'dead') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      jobs = await bed.queue.list();
    }
    expect(jobs).toHaveLength(JOBS);
    expect(
      jobs.filter((job) => job.state !== 'completed').map((job) => `${job.id}: ${job.state} ${job.error}`),
    ).toEqual([]);
    // The killed workers' jobs were taken over by others.
    expect(jobs.reduce((total, job) => total + job.takeovers, 0)).toBeGreaterThanOrEqual(2);
    for (const jobId of killedJobs)
      expect(jobs.find((job) => job.id === jobId)?.takeovers).toBeGreaterThanOrEqual(1);

    let interruptedNamed = 0;
    for (let job = 1; job <= JOBS; job++) {
      const entries = await bed.store.readEntries(`job-${job}`, 0);
      // Done once: one run-finished, and each chat's result stored once with the job.
      expect(
        entries.filter((entry) => entry.type === 'run-finished'),
        `job-${job}`,
      ).toHaveLength(1);
      expect(jobs.find((record) => record.id === `job-${job}`)?.result?.chats).toHaveLength(3);
      const ran = blocks(entries);
      const report = ran.filter((block) => !block.interrupted && block.output.includes('REPORT [')).at(-1);
      expect(report, `job-${job} has no report`).toBeDefined();
      for (let chat = 1; chat <= 3; chat++) {
        const line = blockLine(job, chat);
        const count = report!.output.split(`'${line}'`).length - 1;
        const appending = ran.filter((block) => block.code.includes(`log.write('${line}`));
        // Every block ran exactly once in the sandbox; an interrupted one at most once (it may have
        // been killed before its first line), and it was never run again.
        expect(appending, `job-${job} chat ${chat}`).toHaveLength(1);
        if (appending[0]?.interrupted) expect(count, `job-${job} chat ${chat}`).toBeLessThanOrEqual(1);
        else expect(count, `job-${job} chat ${chat}`).toBe(1);
      }
      if (ran.some((block) => block.interrupted)) {
        const told = entries.some(
          (entry) =>
            entry.type === 'message-sent' &&
            JSON.stringify(entry.data).includes(INTERRUPTED_CODE_OUTPUT.slice(0, 60)),
        );
        expect(told, `job-${job}: the model was not told about the interrupted block`).toBe(true);
        interruptedNamed++;
      }
    }
    expect(interruptedNamed).toBeGreaterThanOrEqual(1);

    const listed = await runHopgen(['jobs', 'list'], bed.environment);
    expect(listed.code, listed.stderr).toBe(0);
    for (let job = 1; job <= JOBS; job++)
      expect(listed.stdout).toMatch(new RegExp(`^job-${job} +three-chats +completed `, 'm'));
    // Every sandbox a run recorded was stopped by its worker before the job was marked completed.
    // A sandbox whose creation a kill cut short (at most one per job the killed workers held) was
    // recorded and tracked by nobody: the server's time to live removes it.
    const reader = new pg.Client({ connectionString: bed.databaseUrl });
    await reader.connect();
    const left = await liveSandboxIds(bed.sandboxes);
    const recorded: string[] = [];
    for (const id of left) {
      const found = await reader.query(
        "SELECT run_id FROM hopgen.run_entries WHERE data::text LIKE '%' || $1 || '%' LIMIT 1",
        [id],
      );
      if (found.rows.length > 0) recorded.push(`${id} (run ${found.rows[0].run_id})`);
    }
    await reader.end();
    expect(recorded).toEqual([]);
    expect(left.length).toBeLessThanOrEqual(6);
    const expiry = Date.now() + 45_000;
    while ((await liveSandboxIds(bed.sandboxes)).length > 0 && Date.now() < expiry) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
  }, 240_000);

  it('resumes a job taken over on another machine in a fresh sandbox and tells the model its state was lost', async () => {
    for (const worker of workers.splice(0)) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    // The second machine's own local sandbox server: the first machine's sandboxes are out of its reach.
    const otherMachine = await startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize: 0 });
    try {
      const first = await spawnWorker(bed.environment, ['--takeover-ms', '3000']);
      workers.push(first);
      const job = await bed.queue.submit('three-chats', { job: 100 }, { id: 'job-100' });
      // Killed in the middle of chat 2's block: chat 1's line is in the first machine's sandbox.
      for (;;) {
        const last = (await bed.store.readEntries(job.id, 0).catch(() => [])).at(-1);
        if (last?.type === 'code-execution-start' && JSON.stringify(last.data).includes(blockLine(100, 2)))
          break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      first.child.kill('SIGKILL');
      await first.exited;
      workers.push(
        await spawnWorker(
          { ...bed.environment, HOPX_BASE_URL: otherMachine.baseURL, HOPX_API_KEY: otherMachine.apiKey },
          ['--takeover-ms', '3000'],
        ),
      );
      const ended = await bed.queue.wait(job.id);
      expect(ended.state, ended.error ?? '').toBe('completed');
      const entries = await bed.store.readEntries(job.id, 0);
      const told = entries.filter(
        (entry) =>
          entry.type === 'message-sent' && JSON.stringify(entry.data).includes(SANDBOX_RESTARTED_NOTICE),
      );
      expect(told.length).toBeGreaterThanOrEqual(1);
      const report = blocks(entries).find((block) => block.output.includes('REPORT ['));
      expect(report?.output).toContain(`'${blockLine(100, 3)}'`);
      expect(report?.output).not.toContain(`'${blockLine(100, 1)}'`);
      expect(await liveSandboxIds(otherMachine)).toEqual([]);
    } finally {
      await otherMachine.close();
    }
  }, 120_000);
});
