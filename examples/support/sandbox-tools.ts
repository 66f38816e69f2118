import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type ConversableAgent, defineTool } from '@hopgen/agents';
import type { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { z } from 'zod';
import type { TranscriptRecorder } from './transcript.js';

/** What the data tools need: the sandbox, where to put charts, and whom to show them with. */
export interface SandboxToolsOptions {
  executor: HopXCodeExecutor;
  runDirectory: string;
  recorder: TranscriptRecorder;
  /** The agent that runs the tools; downloaded charts are shown with its next message. */
  toolRunner: () => ConversableAgent;
}

// A package spec pip understands, and nothing a shell would interpret.
const PACKAGE_SPEC = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?([<>=!~]=?[A-Za-z0-9.*+-]+)?$/;
const NETWORK_FAILURE =
  /Temporary failure in name resolution|Name or service not known|Failed to establish a new connection|Network is unreachable|NewConnectionError|ConnectTimeout|No matching distribution found/;

/** The three data tools of example 4, all backed by the same sandbox. */
export function createSandboxTools({ executor, runDirectory, recorder, toolRunner }: SandboxToolsOptions) {
  const runPython = async (code: string) => executor.executeCodeBlocks([{ code, language: 'python' }]);

  const runDataAnalysis = defineTool({
    name: 'runDataAnalysis',
    description:
      'Runs Python code in the data sandbox (numpy, pandas, scikit-learn available; variables persist between calls) and returns what it printed. Print every result you need.',
    parameters: z.object({ code: z.string().min(1).describe('Python code to run; print the results.') }),
    async execute({ code }) {
      const result = await runPython(code);
      return `exit code ${result.exitCode}\n${result.output}`;
    },
  });

  const createVisualization = defineTool({
    name: 'createVisualization',
    description:
      'Runs matplotlib code in the data sandbox that saves one figure to `fileName` (with fig.savefig), then downloads that file for the report. Do not call plt.show().',
    parameters: z.object({
      code: z
        .string()
        .min(1)
        .describe('Python code that draws the chart and saves it with fig.savefig(fileName).'),
      fileName: z
        .string()
        .regex(/^[\w.-]+\.png$/, 'a plain file name ending in .png, e.g. chart.png')
        .describe('PNG file the code saves, e.g. chart.png.'),
    }),
    async execute({ code, fileName }) {
      // Closing the figures stops the sandbox from also returning them as displayed images.
      const result = await runPython(`${code}\nimport matplotlib.pyplot as _plt\n_plt.close("all")`);
      if (result.exitCode !== 0) {
        throw new Error(`the chart code failed with exit code ${result.exitCode}:\n${result.output}`);
      }
      let bytes: Buffer;
      try {
        bytes = await executor.downloadFile(fileName);
      } catch {
        throw new Error(`the code ran but did not save ${fileName}; call fig.savefig("${fileName}").`);
      }
      const local = basename(fileName);
      await writeFile(join(runDirectory, local), bytes);
      recorder.attachImage(toolRunner(), local);
      return `Saved ${fileName} (${bytes.length} bytes) and downloaded it for the report.${result.output ? `\nOutput: ${result.output}` : ''}`;
    },
  });

  const installPackage = defineTool({
    name: 'installPackage',
    description:
      'Installs a Python package into the data sandbox with pip. Needs network access from the sandbox; fails with an explanation when there is none.',
    parameters: z.object({
      packageName: z
        .string()
        .regex(
          PACKAGE_SPEC,
          'a pip package name, optionally with a version, e.g. tabulate or tabulate==0.9.0',
        ),
    }),
    async execute({ packageName }) {
      // No retries and a short timeout: without network pip would otherwise retry for minutes.
      const command = `PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --user --quiet --disable-pip-version-check --no-input --retries 0 --timeout 10 '${packageName}' 2>&1 | tail -n 5`;
      const result = await executor.executeCodeBlocks([
        { code: `set -o pipefail\n${command}`, language: 'bash' },
      ]);
      if (result.exitCode === 0) return `Installed ${packageName}.`;
      const reason = NETWORK_FAILURE.test(result.output)
        ? 'the sandbox has no network access (the local sandbox is offline by design). Use the packages that are already installed: numpy, pandas, matplotlib, seaborn, scipy and scikit-learn'
        : `pip exited with code ${result.exitCode}`;
      throw new Error(
        `could not install ${packageName}: ${reason}.\npip said: ${result.output.trim().split('\n').slice(-3).join('\n')}`,
      );
    },
  });

  return { runDataAnalysis, createVisualization, installPackage };
}
