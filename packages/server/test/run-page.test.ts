import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileRunStore } from '@hopgen/agents';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../examples/test/support/chromium.js';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { REJECTION, salesTeamModel } from './support/sales-team-model.js';
import { freePort, type ServeProcess, startServeProcess } from './support/serve-process.js';

const screenshots = fileURLToPath(new URL('../../../out/serve-screenshots/', import.meta.url));
const token = 'e2e-token-for-the-page-0123456789';

let directory: string;
let sandbox: LocalSandboxServer;
let model: OpenAITestServer;
let browser: Browser;
let port: number;
let server: ServeProcess;

const startServer = () =>
  startServeProcess(
    [
      '--pipelines',
      'examples/serve/sales-team.ts',
      '--store',
      join(directory, 'runs'),
      '--port',
      String(port),
    ],
    {
      HOPGEN_SERVE_TOKEN: token,
      HOPGEN_OUTPUT_DIRECTORY: join(directory, 'outputs'),
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_API_KEY: 'sk-test',
      HOPX_API_KEY: sandbox.apiKey,
      HOPX_BASE_URL: sandbox.baseURL,
    },
  );

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hopgen-serve-page-'));
  await mkdir(screenshots, { recursive: true });
  sandbox = await startLocalSandboxServer({ host: '127.0.0.1', port: 0 });
  model = await startOpenAITestServer(salesTeamModel);
  port = await freePort();
  server = await startServer();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await model?.close();
  await sandbox?.close();
  await rm(directory, { recursive: true, force: true });
});

/** The page's own record of the events it applied. */
const applied = (page: Page): Promise<{ sequences: number[]; duplicates: number }> =>
  page.evaluate('({ sequences: [...window.hopgenRun.sequences], duplicates: window.hopgenRun.duplicates })');

/** Waits for the next open request on the page and returns its kind. */
async function nextRequest(page: Page): Promise<'human-input' | 'approval'> {
  const form = page.locator('#requests form').first();
  await form.waitFor({ state: 'visible', timeout: 90_000 });
  return (await form.getAttribute('class'))!.includes('approval') ? 'approval' : 'human-input';
}

/** Answers the open human-input request and waits until the page no longer shows that request. */
async function answerInput(page: Page, text: string) {
  const form = page.locator('#requests form.input');
  const requestId = await form.getAttribute('data-request');
  await form.locator('input[name="text"]').fill(text);
  await form.locator('button').click();
  await answered(page, requestId!);
}

/** Approves or rejects the open approval request, then waits until the page no longer shows it. */
async function decide(page: Page, decision: 'approve' | 'reject', reason?: string) {
  const form = page.locator('#requests form.approval');
  const requestId = await form.getAttribute('data-request');
  if (reason !== undefined) await form.locator('input[name="reason"]').fill(reason);
  await form.locator(`button.${decision}`).click();
  await answered(page, requestId!);
}

// The next request may be shown at once: wait for this one's form by its id, not for "a form".
async function answered(page: Page, requestId: string) {
  const form = page.locator(`#requests form[data-request="${requestId}"]`);
  await form.waitFor({ state: 'detached' }).catch(async (error) => {
    throw new Error(`The answer to ${requestId} was not taken: ${await form.textContent()}`, {
      cause: error,
    });
  });
}

function distinctColours(png: Buffer): number {
  const image = PNG.sync.read(png);
  const colours = new Set<number>();
  for (let offset = 0; offset < image.data.length; offset += 4 * 7)
    colours.add(image.data.readUInt32BE(offset));
  return colours.size;
}

function expectContiguous(sequences: number[]) {
  expect(sequences).toEqual(sequences.map((_, index) => index + 1));
}

describe('the page', () => {
  it('starts the demo team, shows it live, takes an answer, a rejection and approvals, and survives a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/#token=${token}`);
    await page.locator('#pipeline').selectOption('sales-analysis');
    await page.locator('#start-run').click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const runId = decodeURIComponent(page.url().split('/').pop()!);

    // The Coder's message streams in; User then asks its person before acting.
    expect(await nextRequest(page)).toBe('human-input');
    await expect.poll(() => page.locator('#conversation').innerText()).toContain('synthetic sales data');
    await answerInput(page, '');

    // The first code block is rejected (the Coder sends it again), the next ones approved; every
    // question of User is answered with an empty line (its auto-reply). After the rejection the page
    // is reloaded: it replays from the start and applies every event once.
    const decisions: Array<'reject' | 'approve'> = ['reject', 'approve', 'approve'];
    while (decisions.length > 0) {
      if ((await nextRequest(page)) === 'human-input') {
        await answerInput(page, '');
        continue;
      }
      const decision = decisions.shift()!;
      await decide(page, decision, decision === 'reject' ? REJECTION : undefined);
      if (decision === 'approve') {
        // The approved block shows as running (with its output as the sandbox streams it) until it ends.
        await page.locator('#running .execution.running').waitFor({ timeout: 30_000 });
        continue;
      }
      await expect.poll(() => page.locator('#conversation').innerText()).toContain(REJECTION);
      await page.reload();
      await page.locator('#connection', { hasText: 'live' }).waitFor();
      const afterReload = await applied(page);
      expect(afterReload.duplicates).toBe(0);
      expectContiguous(afterReload.sequences);
      await expect.poll(() => page.locator('#conversation').innerText()).toContain(REJECTION);
    }

    const chart = page.locator('#charts img').first();
    await chart.waitFor({ timeout: 90_000 });
    await expect
      .poll(() => chart.evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(300);
    await page.locator('#run-status', { hasText: 'Finished' }).waitFor({ timeout: 90_000 });

    const text = (await page.locator('main').textContent()) ?? '';
    for (const expected of [
      'Coder',
      'Analyst',
      'Reviewer',
      'exit 0 · succeeded',
      'is the top product',
      'The chat ended: an agent said it was done',
      'Cost so far',
    ]) {
      expect(text).toContain(expected);
    }
    // Every stored event was applied once, in order, across the reload.
    const final = await applied(page);
    const stored = await new FileRunStore({ directory: join(directory, 'runs') }).loadRun(runId);
    expect(final.duplicates).toBe(0);
    expect(final.sequences).toEqual(stored!.entries.map((entry) => entry.sequence));

    const chartShot = await chart.screenshot();
    expect(distinctColours(chartShot)).toBeGreaterThan(50);
    await page.screenshot({ path: join(screenshots, 'run-view.png'), fullPage: false });
    const full = await page.screenshot({ path: join(screenshots, 'run-view-full.png'), fullPage: true });
    expect(distinctColours(full)).toBeGreaterThan(50);

    // A narrow window: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(screenshots, 'run-view-narrow.png') });
    await page.close();
  }, 300_000);

  it('reconnects after the server restarts while a run waits for a person; the answer continues the run', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`http://127.0.0.1:${port}/#token=${token}`);
    await page.locator('#pipeline').selectOption('sales-analysis');
    await page.locator('#start-run').click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    expect(await nextRequest(page)).toBe('human-input');

    await server.stop('SIGKILL');
    await page.locator('#connection', { hasText: 'reconnecting' }).waitFor();
    server = await startServer();
    await page.locator('#connection', { hasText: 'live' }).waitFor({ timeout: 30_000 });

    await answerInput(page, '');
    // The restarted server runs the run on: its next step, the approval of the code, arrives.
    expect(await nextRequest(page)).toBe('approval');
    const state = await applied(page);
    expect(state.duplicates).toBe(0);
    expectContiguous(state.sequences);
    await page.locator('#cancel').click();
    await page.locator('#run-status', { hasText: 'Stopped' }).waitFor();
    // The stopped run's unanswered approval is no longer offered: nothing would read the answer.
    await page.locator('#requests').waitFor({ state: 'hidden' });
    expect(await page.locator('#requests form').count()).toBe(0);
    await page.close();
  }, 300_000);
});
