import { requestCancel } from '@hopgen/agents';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { blockLine, scriptedCoder } from './support/scripted-coder.js';
import { spawnWorker, type WorkerProcess } from './support/worker-processes.js';
import { useWorkerTestBed } from './support/worker-test-bed.js';

const workers: WorkerProcess[] = [];
// Blocks sleep 3 s after appending their line: the window in which a worker is paused mid-block.
const bed = useWorkerTestBed(scriptedCoder(3), async () => {
  for (const worker of workers) {
    worker.child.kill('SIGCONT');
    worker.child.kill('SIGKILL');
  }
  await Promise.all(workers.map((worker) => worker.exited));
});

/** Polls `check` every 50 ms until it holds; fails the test after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a worker paused longer than takeoverMs', () => {
  it('is fenced off: after the take-over only the new worker writes to the run, and the job completes once', async () => {
    const client = new pg.Client({ connectionString: bed.databaseUrl });
    await client.connect();
    try {
      const paused = await spawnWorker(bed.environment, ['--takeover-ms', '3000']);
      workers.push(paused);
      const job = await bed.queue.submit('three-chats', { job: 300 }, { id: 'job-300' });
      // Paused in chat 2's block: the run recorded its sandbox, so the successor re-attaches it.
      await waitUntil('the first worker is in chat 2s block', async () => {
        const last = (await bed.store.readEntries(job.id, 0).catch(() => [])).at(-1);
        return last?.type === 'code-execution-start' && JSON.stringify(last.data).includes(blockLine(300, 2));
      });
      paused.child.kill('SIGSTOP');
      const writtenBeforePause = (await bed.store.readEntries(job.id, 0)).length;
      const workerRow = async (id: string) =>
        (await client.query('SELECT 1 FROM hopgen.workers WHERE id = $1', [id])).rows.length > 0;

      const successor = await spawnWorker(bed.environment, ['--takeover-ms', '3000']);
      workers.push(successor);
      await waitUntil('the successor took the job over and wrote to its run', async () => {
        const holder = await client.query<{ worker_id: string }>(
          'SELECT worker_id FROM hopgen.jobs WHERE id = $1',
          [job.id],
        );
        return (
          holder.rows[0]?.worker_id === successor.id &&
          (await bed.store.readEntries(job.id, 0)).length > writtenBeforePause
        );
      });
      expect(await workerRow(paused.id)).toBe(false); // declared dead while paused

      paused.child.kill('SIGCONT');
      // Its next heartbeat finds its row gone: it stops its job and rejoins the fleet.
      await waitUntil('the paused worker noticed and rejoined', () => workerRow(paused.id));
      const ended = await bed.queue.wait(job.id);
      expect(ended.state, ended.error ?? '').toBe('completed');
      // A graceful stop waits for the job it still had to end: whatever it would write is written.
      paused.child.kill('SIGTERM');
      expect(await paused.exited).toBe(0);

      const entries = await bed.store.readEntries(job.id, 0);
      const keys = entries.map((entry) => entry.key);
      // One writer: the paused worker's block end, 'run-stopped' or 'run-failed' would be a second
      // entry for a key the successor wrote, or an end the finished run never had.
      expect(keys.filter((key, index) => keys.indexOf(key) !== index)).toEqual([]);
      expect(entries.filter((entry) => entry.type === 'run-stopped' || entry.type === 'run-failed')).toEqual(
        [],
      );
      expect(entries.filter((entry) => entry.type === 'run-finished')).toHaveLength(1);
      // Completed once, by the successor; the paused worker reported no end of the job.
      const record = (await bed.queue.list()).find((listed) => listed.id === job.id);
      expect(record?.takeovers).toBe(1);
      expect(record?.result?.chats).toHaveLength(3);
      expect(successor.output).toContain(`job ${job.id} completed`);
      expect(
        paused.output.filter((line) => /^job \S+ (completed|retrying|dead|cancelled)/.test(line)),
      ).toEqual([]);
    } finally {
      await client.end();
    }
  }, 120_000);
  it('that saw a cancel the new worker honoured writes nothing about the job: no second end, no cancel of its own', async () => {
    // Only this test's two workers: the first test's successor would take the job over too.
    for (const earlier of workers.splice(0)) {
      earlier.child.kill('SIGCONT');
      earlier.child.kill('SIGKILL');
      await earlier.exited;
    }
    const paused = await spawnWorker(bed.environment, ['--takeover-ms', '3000', '--cancel-poll-ms', '100']);
    workers.push(paused);
    const job = await bed.queue.submit('three-chats', { job: 310 }, { id: 'job-310' });
    await waitUntil('the first worker is in chat 2s block', async () => {
      const last = (await bed.store.readEntries(job.id, 0).catch(() => [])).at(-1);
      return last?.type === 'code-execution-start' && JSON.stringify(last.data).includes(blockLine(310, 2));
    });
    paused.child.kill('SIGSTOP');
    const writtenBeforePause = (await bed.store.readEntries(job.id, 0)).length;
    const successor = await spawnWorker(bed.environment, [
      '--takeover-ms',
      '3000',
      '--cancel-poll-ms',
      '100',
    ]);
    workers.push(successor);
    await waitUntil(
      'the successor took the job over and wrote to its run',
      async () => (await bed.store.readEntries(job.id, 0)).length > writtenBeforePause,
    );
    // Cancelled while the first worker is paused: the successor honours it and ends the job.
    await requestCancel(bed.store, job.id);
    const ended = await bed.queue.wait(job.id);
    expect(ended.state, ended.error ?? '').toBe('cancelled');
    const written = await bed.store.readEntries(job.id, 0);
    expect(written.at(-1)).toMatchObject({ type: 'run-stopped', data: { cancel: 'run:cancel:1' } });

    // The first worker wakes: its cancel poll sees the same cancel, its heartbeat finds it declared dead.
    paused.child.kill('SIGCONT');
    await waitUntil('the paused worker noticed and rejoined', async () => {
      const client = new pg.Client({ connectionString: bed.databaseUrl });
      await client.connect();
      try {
        return (
          (await client.query('SELECT 1 FROM hopgen.workers WHERE id = $1', [paused.id])).rows.length > 0
        );
      } finally {
        await client.end();
      }
    });
    // A graceful stop waits for the job it still had to end: whatever it would write is written.
    paused.child.kill('SIGTERM');
    expect(await paused.exited).toBe(0);
    expect(await bed.store.readEntries(job.id, 0)).toEqual(written);
    expect(paused.output.filter((line) => /^job \S+ (completed|retrying|dead|cancelled)/.test(line))).toEqual(
      [],
    );
    // Its output comes through a pipe, after the state it wrote.
    await waitUntil('the successor reported the end', async () =>
      successor.output.includes(`job ${job.id} cancelled`),
    );
    expect((await bed.queue.get(job.id)).state).toBe('cancelled');
  }, 120_000);
});
