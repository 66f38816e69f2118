import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requestCancel } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../executors-hopx/test/support/fault-proxy.js';
import { liveSandboxIds } from '../../executors-hopx/test/support/local-server.js';
import { callApi } from '../../server/test/support/api-client.js';
import { blockLine, scriptedCoder } from './support/scripted-coder.js';
import { spawnWorker, type WorkerProcess } from './support/worker-processes.js';
import { useWorkerTestBed } from './support/worker-test-bed.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const serveScript = fileURLToPath(new URL('./fixtures/serve-on-postgres.ts', import.meta.url));
const token = 'worker-cancel-token-0123456789abcdef';
/** How often the first test's worker looks for a cancel (`--cancel-poll-ms`; the default is 1000). */
const CANCEL_POLL_MS = 250;
/**
 * How long HopXCodeExecutor waits for an interrupted block before it discards the sandbox
 * (`ABORT_GRACE_MS` in hopx-code-executor.ts): the most the abort of the running block may take.
 */
const ABORT_GRACE_MS = 3000;
/** That poll, plus the abort of the block the run is in, plus a generous margin to write the stop on a loaded machine. */
const STOP_BOUND_MS = CANCEL_POLL_MS + ABORT_GRACE_MS + 2000;

const children: { kill(signal: NodeJS.Signals): void; exited: Promise<unknown> }[] = [];
let proxy: FaultProxy | undefined;
// Chat 2's block sleeps 15 s after appending its line (less than the sandbox's 20 s time to live):
// the run is in it when it is cancelled or its worker killed. Chat 1's takes half a second.
const bed = useWorkerTestBed(
  scriptedCoder((_job, chat) => (chat === 2 ? 15 : 0.5)),
  async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await proxy?.close();
  },
);

/** Polls `check` every 50 ms until it holds; fails the test after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `serve()` on the workers' database in a child process; resolves with its address. */
async function startServer(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', serveScript], {
    cwd: repositoryRoot,
    env: { ...process.env, ...bed.environment, HOPGEN_SERVE_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  children.push({ kill: (signal) => child.kill(signal), exited });
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /hopgen serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then((code) => reject(new Error(`the server exited (${code}):\n${output}`)));
  });
}

/** A worker whose sandbox traffic goes through the counting proxy. */
async function startCountedWorker(args: string[] = []): Promise<WorkerProcess> {
  proxy ??= await startFaultProxy(bed.sandboxes.baseURL);
  const worker = await spawnWorker({ ...bed.environment, HOPX_BASE_URL: proxy.baseURL }, [
    '--takeover-ms',
    '3000',
    ...args,
  ]);
  children.push({ kill: (signal) => worker.child.kill(signal), exited: worker.exited });
  return worker;
}

/**
 * Code runs the sandbox service was asked for, counted where they arrive; not the script an abort
 * sends to interrupt the running block (it kills the block and runs no code of the run).
 */
const executions = () =>
  (proxy?.requests ?? []).filter(
    (request) =>
      request.method === 'POST' &&
      request.path.includes('/execute') &&
      !request.body.includes('hopgen-running-block'),
  ).length;

/** The lines in which a worker reported a job's end. */
const endsReported = (worker: WorkerProcess) =>
  worker.output.filter((line) => /^job \S+ (completed|retrying|dead|cancelled)/.test(line));

const inBlock = (jobId: string, job: number, chat: number) => async () => {
  const last = (await bed.store.readEntries(jobId, 0).catch(() => [])).at(-1);
  return last?.type === 'code-execution-start' && JSON.stringify(last.data).includes(blockLine(job, chat));
};

describe('cancelling a worker’s job through the HTTP API of a server in another process', () => {
  it('stops the run within the poll bound: run-stopped, the job cancelled once, no block after it, no sandbox left', async () => {
    const worker = await startCountedWorker(['--cancel-poll-ms', String(CANCEL_POLL_MS)]);
    const url = await startServer();
    const job = await bed.queue.submit('three-chats', { job: 700 }, { id: 'job-700' });
    await waitUntil('the worker is in chat 2s block', inBlock(job.id, 700, 2));
    const executionsBefore = executions();

    const cancelled = await callApi(url, 'POST', `/api/runs/${job.id}/cancel`, { token, body: {} });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ runId: job.id });
    // The worker polls on its own schedule: its poll may land between the stored cancel and the
    // server's read of the log, so the answer is either still running with the cancel pending or
    // already stopped with it honoured.
    const { status, cancelRequested } = cancelled.body as { status: string; cancelRequested: boolean };
    expect([
      ['running', true],
      ['stopped', false],
    ]).toContainEqual([status, cancelRequested]);

    const ended = await bed.queue.wait(job.id);
    expect(ended.state, ended.error ?? '').toBe('cancelled');
    expect(ended.cancelRequested).toBe(true);
    const entries = await bed.store.readEntries(job.id, 0);
    const stop = entries.at(-1)!;
    expect(stop).toMatchObject({ type: 'run-stopped', data: { cancel: 'run:cancel:1' } });
    const asked = (await bed.store.readAnswers(job.id)).find(
      (answer) => answer.requestId === 'run:cancel:1',
    )!;
    expect(stop.time - asked.answeredAt).toBeLessThanOrEqual(STOP_BOUND_MS);
    // Nothing ran after the cancel: no block reached the sandbox service, chat 3 never started.
    expect(executions()).toBe(executionsBefore);
    expect(JSON.stringify(entries)).not.toContain(blockLine(700, 3));
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
    // The job ended once, here, as cancelled.
    await waitUntil('the worker reported the end', async () => endsReported(worker).length > 0);
    expect(endsReported(worker)).toEqual([`job ${job.id} cancelled`]);
    const shown = await callApi(url, 'GET', `/api/runs/${job.id}`, { token });
    expect(shown.body).toMatchObject({ status: 'stopped', cancelRequested: false });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 120_000);

  it('a job whose worker was SIGKILLed and cancelled meanwhile is not run further by the worker that takes it over', async () => {
    const first = await startCountedWorker();
    const url = await startServer();
    const job = await bed.queue.submit('three-chats', { job: 800 }, { id: 'job-800' });
    await waitUntil('the worker is in chat 2s block', inBlock(job.id, 800, 2));
    first.child.kill('SIGKILL');
    await first.exited;
    const written = (await bed.store.readEntries(job.id, 0)).length;
    const executionsBefore = executions();

    const cancelled = await callApi(url, 'POST', `/api/runs/${job.id}/cancel`, { token, body: {} });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'running', cancelRequested: true });

    const successor = await startCountedWorker();
    const ended = await bed.queue.wait(job.id);
    expect(ended.state, ended.error ?? '').toBe('cancelled');
    const after = (await bed.store.readEntries(job.id, 0)).slice(written);
    expect(after.map((entry) => [entry.type, entry.data])).toEqual([
      ['run-stopped', { cancel: 'run:cancel:1' }],
    ]);
    expect(executions()).toBe(executionsBefore);
    // The sandbox the killed worker's block ran in is stopped before the job is marked cancelled.
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
    await waitUntil('the successor reported the end', async () => endsReported(successor).length > 0);
    expect(endsReported(successor)).toEqual([`job ${job.id} cancelled`]);
    successor.child.kill('SIGTERM');
    expect(await successor.exited).toBe(0);
  }, 120_000);

  it('a job whose worker died after writing the stop of a cancel, before marking the job, stays cancelled', async () => {
    const first = await startCountedWorker();
    const job = await bed.queue.submit('three-chats', { job: 900 }, { id: 'job-900' });
    await waitUntil('the worker is in chat 2s block', inBlock(job.id, 900, 2));
    first.child.kill('SIGKILL');
    await first.exited;
    // What the dead worker would have left had it died between its run's run-stopped and the job's
    // update: the cancel asked, and honoured in the log.
    const cancel = await requestCancel(bed.store, job.id);
    await bed.store.append(job.id, [
      { key: 'run:stopped:dead-worker', type: 'run-stopped', time: Date.now(), data: { cancel } },
    ]);
    const written = (await bed.store.readEntries(job.id, 0)).length;
    const executionsBefore = executions();

    const successor = await startCountedWorker();
    const ended = await bed.queue.wait(job.id);
    expect(ended.state, ended.error ?? '').toBe('cancelled');
    // Not resumed: no run-resumed, no chat run again, no block.
    expect((await bed.store.readEntries(job.id, 0)).slice(written)).toEqual([]);
    expect(executions()).toBe(executionsBefore);
    expect(await liveSandboxIds(bed.sandboxes)).toEqual([]);
    await waitUntil('the successor reported the end', async () => endsReported(successor).length > 0);
    expect(endsReported(successor)).toEqual([`job ${job.id} cancelled`]);
    successor.child.kill('SIGTERM');
    expect(await successor.exited).toBe(0);
  }, 120_000);
});
