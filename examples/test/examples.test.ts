import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.js';
import {
  type ExampleRun,
  isPng,
  processesUsing,
  repositoryRoot,
  runExampleProcess,
  sandboxDirectoriesIn,
} from './support/run-example-process.js';

// Every example runs offline as a child process (local sandbox, scripted model), one after another:
// the machine has two cores and each example starts its own sandbox server.
const timings: string[] = [];
const temporaryDirectories: string[] = [];

async function run(file: string): Promise<ExampleRun> {
  const result = await runExampleProcess(file);
  timings.push(`${file}: ${(result.durationMs / 1000).toFixed(1)} s`);
  temporaryDirectories.push(result.temporaryDirectory);
  if (result.exitCode !== 0) {
    throw new Error(
      `${file} exited with ${result.exitCode}\n--- stdout\n${result.stdout.slice(-3000)}\n--- stderr\n${result.stderr.slice(-3000)}`,
    );
  }
  return result;
}

async function expectNoSandboxLeft(result: ExampleRun): Promise<void> {
  expect(await processesUsing(result.temporaryDirectory)).toEqual([]);
  expect(await sandboxDirectoriesIn(result.temporaryDirectory)).toEqual([]);
}

async function transcriptOf(result: ExampleRun) {
  expect(result.runDirectory).toBeDefined();
  return JSON.parse(await readFile(join(result.runDirectory!, 'transcript.json'), 'utf8'));
}

afterAll(async () => {
  process.stdout.write(`Example timings: ${timings.join('; ')}\n`);
  await Promise.all(temporaryDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('examples, offline', { timeout: 120_000 }, () => {
  it('01 two agents: says once that the replies are scripted, and finds 24133 in the sandbox', async () => {
    const result = await run('01-two-agents.ts');
    expect(
      result.stdout.split('No OPENAI_API_KEY: the model is replaced by replies written for this example'),
    ).toHaveLength(2);
    // The number comes from the sandbox's output, and the assistant's answer repeats it.
    expect(result.stdout).toContain('Sum of the first 100 primes: 24133');
    expect(result.stdout).toContain('the sum of the first 100 prime numbers is 24133');
    expect(result.stdout).toContain('Ended by termination-message.');
    await expectNoSandboxLeft(result);
  });

  it('02 persistent state: df survives across requests and the histogram is downloaded as a PNG', async () => {
    await rm(join(repositoryRoot, 'out/histogram_D.png'), { force: true });
    const result = await run('02-persistent-state.ts');
    expect(result.stdout).toContain('Mean of D:');
    expect(result.stdout).not.toContain("NameError: name 'df' is not defined");
    expect(isPng(await readFile(join(repositoryRoot, 'out/histogram_D.png')))).toBe(true);
    await expectNoSandboxLeft(result);
  });

  it('the demo (group chat): chart PNG, transcript.json and a self-contained report.html that renders', async () => {
    const result = await run('demo/group-chat-data-analysis.ts');
    for (const speaker of [
      'Next speaker: Coder',
      'Next speaker: User',
      'Next speaker: Analyst',
      'Next speaker: Reviewer',
    ]) {
      expect(result.stdout).toContain(speaker);
    }
    const transcript = await transcriptOf(result);
    expect(transcript.outcome).toBe('succeeded');
    expect(transcript.messages.map((entry: { sender: string }) => entry.sender)).toEqual(
      expect.arrayContaining(['User', 'Coder', 'Analyst', 'Reviewer']),
    );
    expect(transcript.events.some((event: { type: string }) => event.type === 'speaker-selected')).toBe(true);
    expect(transcript.usage.usageIncludingCachedInference.models.scripted.totalTokens).toBeGreaterThan(0);
    expect(transcript.charts).toHaveLength(1);
    const chart = await readFile(join(result.runDirectory!, transcript.charts[0]));
    expect(isPng(chart)).toBe(true);

    const html = await readFile(join(result.runDirectory!, 'report.html'), 'utf8');
    expect(html).toContain('Total sales by product:');
    expect(html).toContain('Reviewer');
    expect(html).toContain(`data:image/png;base64,${chart.toString('base64')}`);
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|src="http|url\(http/i);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${join(result.runDirectory!, 'report.html')}`);
      // A string, so this Node-typed file needs no DOM types; it runs in the page.
      const widths = (await page.evaluate(
        'Array.from(document.images, (image) => (image.complete ? image.naturalWidth : 0))',
      )) as number[];
      expect(widths.length).toBeGreaterThan(0);
      for (const width of widths) expect(width).toBeGreaterThan(0);
      await page.screenshot({ path: join(result.runDirectory!, 'report-screenshot.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(isPng(await readFile(join(result.runDirectory!, 'report-screenshot.png')))).toBe(true);
    await expectNoSandboxLeft(result);
  });

  it('04 tools: installPackage fails fast offline with a clear message, the other tool works', async () => {
    await rm(join(repositoryRoot, 'out/iris_petals.png'), { force: true });
    const result = await run('04-tool-using-agents.ts');
    expect(result.stdout).toContain('Error: could not install tabulate: the sandbox has no network access');
    expect(result.stdout).toContain('Longest petals: virginica');
    expect(result.durationMs).toBeLessThan(60_000);
    expect(isPng(await readFile(join(repositoryRoot, 'out/iris_petals.png')))).toBe(true);
    await expectNoSandboxLeft(result);
  });

  it('05 sequential pipeline: each chat gets the previous summaries as carryover', async () => {
    const result = await run('05-sequential-pipeline.ts');
    const engineerSummary = /customers\.csv is ready in the sandbox: [^\n]+/.exec(result.stdout)?.[0];
    expect(engineerSummary).toBeDefined();
    // The DataScientist's first message carries the DataEngineer's summary, in AutoGen's layout.
    expect(result.stdout).toContain(`\nContext: \n${engineerSummary}`);
    expect(result.stdout).toContain('Findings: the strongest churn driver is');
    expect(result.stdout).toContain('## Customer churn: summary for management');
    await expectNoSandboxLeft(result);
  });

  it('06 robust execution: the killed sandbox is replaced, the output says so, the chat recovers', async () => {
    const result = await run('06-robust-execution.ts');
    expect(result.stdout).toMatch(/FAULT INJECTED: sandbox \S+ killed \(HTTP 200\)/);
    expect(result.stdout).toContain('[sandbox restarted: earlier state was lost]');
    expect(result.stdout).toMatch(/Mean: \d+\.\d+ C; readings above 28 C: \d+/);
    await expectNoSandboxLeft(result);
  });

  it('07 group chat: the team answers with a chart saved on this machine and cleans up', async () => {
    await rm(join(repositoryRoot, 'out/complete-example'), { recursive: true, force: true });
    const result = await run('07-complete-example.ts');
    expect(result.stdout).toMatch(/Best separating feature: \w+ \(F = \d+\.\d\)/);
    expect(result.stdout).toContain('Ended by termination-message');
    const chart = /Image saved to (\S+\.png)/.exec(result.stdout)?.[1];
    expect(chart).toBeDefined();
    expect(isPng(await readFile(join(repositoryRoot, 'out/complete-example', chart!)))).toBe(true);
    await expectNoSandboxLeft(result);
  });

  it('09 any provider: Claude is overloaded, the config list falls back to Gemini, which calls the tool', async () => {
    const result = await run('09-any-provider.ts');
    expect(result.stdout).toContain('Claude was asked 4 times, Gemini 2 times.');
    expect(result.stdout).toContain('{"amount":250,"from":"EUR","to":"USD","converted":270}');
    expect(result.stdout).toContain("Answer: 250 EUR is 270 USD at today's rate.");
    expect(result.stdout).toContain("* Model 'gemini-2.5-flash': cost: 0.00019, prompt_tokens: 240");
  });

  it('10 plot and critic: the Critic is sent each chart as an image, named as the code saved it, and approves the second', async () => {
    await rm(join(repositoryRoot, 'out/plot-and-critic'), { recursive: true, force: true });
    const result = await run('10-plot-and-critic.ts');
    expect(result.stdout).toContain('Code output: Image saved to sales_analysis.png');
    expect(result.stdout).toContain('Code output: Image saved to sales_analysis-2.png');
    expect(result.stdout).toContain('I see the chart (600 x 400 px, 1 image in my prompt)');
    expect(result.stdout).toContain('The new chart (700 x 400 px) is readable');
    const chart = await readFile(join(repositoryRoot, 'out/plot-and-critic/sales_analysis-2.png'));
    expect(isPng(chart)).toBe(true);
    // What the model reads names the chart relative to the output folder, never by its absolute path.
    expect(result.stdout).not.toContain(join(repositoryRoot, 'out/plot-and-critic'));
    await expectNoSandboxLeft(result);
  });

  it('11 opentelemetry: prints the span tree of a group chat with a tool call and a code block in its sandbox', async () => {
    const result = await run('11-opentelemetry.ts');
    expect(result.stdout).toContain('Total: 1647.00 USD at 1.08 USD per EUR. TERMINATE');
    const tree = result.stdout.slice(result.stdout.indexOf('\nSpans:\n'));
    expect(tree).toContain('\nrun user -> chat_manager  gen_ai.agent.name=user\n  invoke_agent chat_manager');
    expect(tree).toContain(
      '\n    select_speaker  gen_ai.agent.name=chat_manager hopgen.speaker.name=analyst\n',
    );
    expect(tree).toContain('\n      execute_tool exchange_rate  gen_ai.agent.name=user\n');
    expect(tree).toMatch(
      /\n {6}chat scripted {2}gen_ai\.agent\.name=analyst gen_ai\.usage\.input_tokens=\d+ gen_ai\.usage\.output_tokens=\d+\n/,
    );
    expect(tree).toMatch(/\n {6}execute_code python {2}gen_ai\.agent\.name=user hopgen\.sandbox\.id=\S+\n/);
    await expectNoSandboxLeft(result);
  });
});
