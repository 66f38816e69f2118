import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileRunStore } from '@hopgen/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../examples/test/support/chromium.js';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { type RunningServer, serve } from '../src/index.js';
import { callApi } from './support/api-client.js';
import { freePort, type ServeProcess, startServeProcess } from './support/serve-process.js';
import { askingTeam } from './support/test-pipelines.js';

const pipelinesModule = fileURLToPath(new URL('./fixtures/hanging-pipelines.ts', import.meta.url));
const token = 'cancel-test-token-0123456789abcdef';
/**
 * The default `cancelPollMs` of the process running the run, plus a generous margin for aborting its
 * step and writing the stop in a separate process on a loaded 2-core machine.
 */
const STOP_BOUND_MS = 1000 + 4000;

let directory: string;
let model: OpenAITestServer;
let store: FileRunStore;
/** The process that runs the runs: `hopgen serve` on the folder. */
let runner: ServeProcess | undefined;
/** Another server on the same folder, in this process: it runs nothing, it only answers the API. */
let other: RunningServer;

const startRunner = async (port: number, extra: string[] = []) =>
  startServeProcess(
    ['--pipelines', pipelinesModule, '--store', directory, '--port', String(port), ...extra],
    { HOPGEN_SERVE_TOKEN: token, HOPGEN_TEST_MODEL_URL: model.baseURL },
  );

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-cancel-'));
  store = new FileRunStore({ directory });
  // Every model call hangs: the run is always in the middle of a step.
  model = await startOpenAITestServer(() => ({ kind: 'hang' }));
  other = await serve({
    pipelines: [askingTeam(model.baseURL, { name: 'hanging', stream: false })],
    store: new FileRunStore({ directory }),
    token,
    resumeRuns: false,
  });
});

afterEach(async () => {
  await runner?.stop('SIGKILL');
  runner = undefined;
  await other.close();
  await model.close();
  await rm(directory, { recursive: true, force: true });
});

const call = (url: string, method: string, path: string) =>
  callApi(url, method, path, { token, ...(method === 'POST' ? { body: {} } : {}) });

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a run's summary shows a cancel still to be honoured, or one honoured already. */
function pendingOrHonoured(run: { status: string; cancelRequested: boolean }): boolean {
  return (
    (run.status === 'running' && run.cancelRequested) || (run.status === 'stopped' && !run.cancelRequested)
  );
}

async function startHangingRun(runnerUrl: string, runId: string): Promise<void> {
  const started = await callApi(runnerUrl, 'POST', '/api/runs', {
    token,
    body: { pipeline: 'hanging', input: { task: 'Think forever.' }, runId },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  await waitUntil('the run is in its model call', () =>
    model.requests.some((request) => JSON.stringify(request.body).includes('Think forever.')),
  );
}

describe('cancelling a run another process runs (two servers on one FileRunStore folder)', () => {
  it('answers at once with cancelRequested, and the run stops there within the poll bound; a second cancel is the same', async () => {
    runner = await startRunner(0);
    await startHangingRun(runner.url, 'far');

    const cancelled = await call(other.url, 'POST', '/api/runs/far/cancel');
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    // The runner polls on its own schedule: its poll may land between the stored cancel and this
    // server's read of the log, so the answer is either still running with the cancel pending or
    // already stopped with it honoured. Both are right; nothing else is.
    expect(pendingOrHonoured(cancelled.body)).toBe(true);
    const asked = await call(other.url, 'GET', '/api/runs');
    expect(asked.body.runs[0]).toMatchObject({ runId: 'far' });
    expect(pendingOrHonoured(asked.body.runs[0])).toBe(true);

    await waitUntil(
      'the run stopped',
      async () => (await store.readEntries('far', 0)).at(-1)?.type === 'run-stopped',
    );
    const stop = (await store.readEntries('far', 0)).at(-1)!;
    expect(stop.data).toEqual({ cancel: 'run:cancel:1' });
    const askedAt = (await store.readAnswers('far')).find((answer) => answer.requestId === 'run:cancel:1')!;
    expect(stop.time - askedAt.answeredAt).toBeLessThanOrEqual(STOP_BOUND_MS);
    // One model call, the one the cancel cut short.
    expect(model.requests).toHaveLength(1);

    const shown = await call(other.url, 'GET', '/api/runs/far');
    expect(shown.body).toMatchObject({ status: 'stopped', cancelRequested: false });
    const again = await call(other.url, 'POST', '/api/runs/far/cancel');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'stopped', cancelRequested: false });
    expect(await store.readAnswers('far')).toHaveLength(1);
    // The runner's own view agrees.
    expect((await call(runner.url, 'GET', '/api/runs/far')).body.status).toBe('stopped');
  }, 120_000);

  it('stops a run whose process was SIGKILLed and cancelled meanwhile on the page (which says Stopping… until then) as soon as a process resumes it: no step runs again', async () => {
    const port = await freePort();
    runner = await startRunner(port);
    await startHangingRun(runner.url, 'orphan');
    await runner.stop('SIGKILL');
    const written = (await store.readEntries('orphan', 0)).length;

    // A person cancels it on the page of the other server, which does not run it.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${other.url}/runs/orphan#token=${token}`);
      await page.locator('#connection', { hasText: 'live' }).waitFor();
      await page.locator('#cancel').click();
      // Nobody holds it: it says it is stopping, and stays so until a process stops it.
      await page.locator('#run-status', { hasText: 'Stopping' }).waitFor();
      expect(await page.locator('#cancel').isDisabled()).toBe(true);
      const shown = await call(other.url, 'GET', '/api/runs/orphan');
      expect(shown.body).toMatchObject({ status: 'running', cancelRequested: true });
      // Asking again through the API is the same cancel.
      const again = await call(other.url, 'POST', '/api/runs/orphan/cancel');
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toMatchObject({ status: 'running', cancelRequested: true });
      expect(await store.readAnswers('orphan')).toHaveLength(1);
      // A page opened now shows the cancel too.
      const second = await browser.newPage();
      await second.goto(`${other.url}/runs/orphan#token=${token}`);
      await second.locator('#run-status', { hasText: 'Stopping' }).waitFor();

      // The restarted server resumes the runs it finds running; this one stops before its model call.
      runner = await startRunner(port);
      await page.locator('#run-status', { hasText: 'Stopped' }).waitFor();
      await second.locator('#run-status', { hasText: 'Stopped' }).waitFor();
    } finally {
      await browser.close();
    }
    await waitUntil(
      'the resumed run stopped',
      async () => (await store.readEntries('orphan', 0)).at(-1)?.type === 'run-stopped',
    );
    const after = (await store.readEntries('orphan', 0)).slice(written);
    expect(after.map((entry) => [entry.type, entry.data])).toEqual([
      ['run-stopped', { cancel: 'run:cancel:1' }],
    ]);
    expect(model.requests).toHaveLength(1);
    expect((await call(runner.url, 'GET', '/api/runs/orphan')).body).toMatchObject({
      status: 'stopped',
      cancelRequested: false,
    });
  }, 120_000);

  it('hopgen serve --cancel-poll-ms sets how often its runs look for a cancel', async () => {
    // A poll far longer than the test: the cancel stays pending, deterministically.
    runner = await startRunner(0, ['--cancel-poll-ms', '600000']);
    await startHangingRun(runner.url, 'slow-poll');
    const cancelled = await call(other.url, 'POST', '/api/runs/slow-poll/cancel');
    expect(cancelled.body).toMatchObject({ status: 'running', cancelRequested: true });
    // Three times the default poll of 1 s: a runner polling at the default would have stopped it.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await store.readEntries('slow-poll', 0)).at(-1)?.type).not.toBe('run-stopped');
    expect((await call(other.url, 'GET', '/api/runs/slow-poll')).body).toMatchObject({
      status: 'running',
      cancelRequested: true,
    });
  }, 120_000);

  it('stores the cancel of a failed run (a worker job waiting for its retry), so the retry stops', async () => {
    await store.createRun({ schemaVersion: 2, runId: 'retrying', createdAt: Date.now(), definition: {} });
    await store.append('retrying', [
      { key: 'run:failed:a', type: 'run-failed', time: Date.now(), data: { error: 'sandbox busy' } },
    ]);
    const cancelled = await call(other.url, 'POST', '/api/runs/retrying/cancel');
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', cancelRequested: true });
    expect((await store.readAnswers('retrying')).map((answer) => answer.requestId)).toEqual(['run:cancel:1']);
    // Asking again is the same cancel.
    expect((await call(other.url, 'POST', '/api/runs/retrying/cancel')).status).toBe(200);
    expect(await store.readAnswers('retrying')).toHaveLength(1);
  });

  it('refuses to cancel a finished run with a 409 that says why', async () => {
    await store.createRun({ schemaVersion: 2, runId: 'done', createdAt: Date.now(), definition: {} });
    await store.append('done', [
      { key: 'run:finished', type: 'run-finished', time: Date.now(), data: { results: [] } },
    ]);
    const refused = await call(other.url, 'POST', '/api/runs/done/cancel');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('run-ended');
    expect(refused.body.error.message).toContain('has finished, so there is nothing to cancel');
    expect(await store.readAnswers('done')).toEqual([]);
  });
});
