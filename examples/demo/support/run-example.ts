import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  ConsoleRenderer,
  type ConversableAgent,
  type Message,
  type TranscriptRenderer,
} from '@hopgen/agents';
import { chooseRuntime, type Runtime, type ScriptedReplies } from './choose-runtime.js';
import { createRunDirectory } from './paths.js';
import { Progress } from './progress.js';
import { renderReport } from './report.js';
import { TranscriptRecorder } from './transcript.js';

/** What an example's body gets: the chosen runtime, the recorder, the run directory and a renderer. */
export interface ExampleContext {
  runtime: Runtime;
  recorder: TranscriptRecorder;
  progress: Progress;
  /** Absolute path of `out/<run-id>/`. */
  runDirectory: string;
  /** Draws the transcript on standard output without tearing the progress spinner. Give it to every agent. */
  renderer: TranscriptRenderer;
  /** Registers agents for the transcript, the report and the progress display. */
  watch(...agents: ConversableAgent[]): void;
}

/** What an example's body returns: the problems that make the run a failure (none: success). */
export interface ExampleOutcome {
  problems: string[];
}

/** Describes an example for {@link runExample}. */
export interface ExampleDefinition {
  /** Short name used in the run id, e.g. `two-agents`. */
  slug: string;
  /** Title of the report. */
  title: string;
  /** The task, as the user would put it. */
  task: string;
  /** Offline replies per agent name. */
  scripts: Record<string, ScriptedReplies>;
}

/**
 * Runs one example: announces the sandbox and model it picked, runs `body`, and always cleans up
 * (executors closed, local server stopped), also on error and on Ctrl-C. Then writes
 * `transcript.json` and `report.html` to `out/<run-id>/`, prints their paths, and sets a non-zero exit
 * code when the run failed.
 */
export async function runExample(
  definition: ExampleDefinition,
  body: (context: ExampleContext) => Promise<ExampleOutcome>,
): Promise<void> {
  const progress = new Progress();
  const recorder = new TranscriptRecorder();
  const { runId, directory } = await createRunDirectory(definition.slug);
  const console_ = new ConsoleRenderer();
  const renderer: TranscriptRenderer = {
    messageReceived(message: Message, senderName: string, recipientName: string) {
      progress.pause();
      console_.messageReceived(message, senderName, recipientName);
    },
    notice(text: string, tone?: 'info' | 'warning' | 'code') {
      progress.pause();
      console_.notice(text, tone);
    },
  };

  process.stdout.write(`\n=== ${definition.title} ===\n`);
  let runtime: Runtime | undefined;
  const problems: string[] = [];
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal} received: cleaning up the sandboxes…\n`);
    const exit = () => process.exit(signal === 'SIGINT' ? 130 : 143);
    (runtime?.close() ?? Promise.resolve()).then(exit, exit);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    runtime = await chooseRuntime({ scripts: definition.scripts, progress, outputDirectory: directory });
    process.stdout.write(
      `Sandbox: ${runtime.choice.sandboxDescription}\nModel:   ${runtime.choice.modelDescription}\n${
        runtime.scripted
          ? '         The code in these replies really runs in the sandbox; set OPENAI_API_KEY for a real model.\n'
          : ''
      }\n`,
    );
    const chosen = runtime;
    const outcome = await body({
      runtime: chosen,
      recorder,
      progress,
      runDirectory: directory,
      renderer,
      watch: (...agents) => {
        recorder.watch(agents);
        chosen.watch(agents);
      },
    });
    problems.push(...outcome.problems);
  } catch (error) {
    problems.push(`The example threw: ${error instanceof Error ? error.message : String(error)}`);
    progress.pause();
    process.stderr.write(`\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    try {
      await runtime?.close();
    } catch (error) {
      problems.push(`Cleaning up failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }

  if (runtime !== undefined) {
    const transcript = recorder.finish({
      runId,
      title: definition.title,
      task: definition.task,
      runtime: runtime.choice,
      problems,
    });
    const images = new Map<string, Uint8Array>();
    for (const name of transcript.files.filter((file) => file.endsWith('.png'))) {
      const bytes = await readFile(join(directory, name)).catch(() => undefined);
      if (bytes !== undefined) images.set(name, bytes);
    }
    const transcriptPath = join(directory, 'transcript.json');
    const reportPath = join(directory, 'report.html');
    await writeFile(transcriptPath, `${JSON.stringify(transcript, null, 2)}\n`);
    await writeFile(reportPath, renderReport(transcript, images));
    // `pnpm demo` runs in examples/; INIT_CWD is where the user typed the command.
    const show = (path: string) => relative(process.env['INIT_CWD'] ?? process.cwd(), path) || path;
    process.stdout.write('\nWritten:\n');
    for (const name of transcript.files)
      process.stdout.write(`  file:       ${show(join(directory, name))}\n`);
    process.stdout.write(`  transcript: ${show(transcriptPath)}\n  report:     ${show(reportPath)}\n`);
  }
  if (problems.length > 0) {
    process.stderr.write(
      `\n✘ ${definition.title} failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`\n✔ ${definition.title}: done.\n`);
  }
}
