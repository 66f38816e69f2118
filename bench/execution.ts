import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CodeExecutor, LocalCommandLineCodeExecutor } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { Sandbox } from '@hopx-ai/sdk';
import type { FigureSet } from './figures.js';
import { withBenchServer } from './local-server.js';
import { SYSTEM_PYTHON } from './processes.js';
import { type Probe, sampleInterleaved } from './sampler.js';
import type { BenchSettings } from './settings.js';
import { PANDAS, TRIVIAL } from './snippets.js';

/** Target of a stateful round trip through the server, milliseconds at p50 (the server's issue). */
const TARGET_STATEFUL_ROUND_TRIP_MS = 2;

type Snippet = typeof TRIVIAL | typeof PANDAS;

function blockProbe(executor: CodeExecutor, snippet: Snippet): Probe {
  return {
    measure: async () => {
      const result = await executor.executeCodeBlocks([{ language: 'python', code: snippet.code }]);
      if (result.exitCode !== 0 || result.output !== snippet.stdout) {
        throw new Error(`expected ${JSON.stringify(snippet.stdout)}, got ${JSON.stringify(result)}`);
      }
    },
  };
}

function sdkProbe(sandbox: Sandbox, snippet: Snippet): Probe {
  return {
    measure: async () => {
      const result = await sandbox.runIpython(snippet.code);
      if (result.stdout !== snippet.stdout) throw new Error(`SDK printed ${JSON.stringify(result.stdout)}`);
    },
  };
}

/**
 * Round trip of one block in a sandbox that is already up: a trivial block and a pandas snippet,
 * stateful (persistent interpreter) and stateless (a fresh process per block), next to
 * `LocalCommandLineCodeExecutor` (a host process per block, no isolation) and the bare SDK call.
 */
export async function measureExecution(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'hopgen-bench-'));
  try {
    await withBenchServer(0, async (server) => {
      const options = { baseURL: server.baseURL, apiKey: server.apiKey, template: 'code-interpreter' };
      const stateful = new HopXCodeExecutor({ ...options, stateful: true, timeoutMs: 60_000 });
      const stateless = new HopXCodeExecutor({ ...options, stateful: false, timeoutMs: 60_000 });
      const sandbox = await Sandbox.create(options);
      try {
        const local = new LocalCommandLineCodeExecutor({ workDir, pythonCommand: SYSTEM_PYTHON });
        const { warmup, fastIterations, slowIterations } = settings.execution;
        // Process-per-block paths cost hundreds of ms with pandas, so they get fewer runs.
        const perProcess = await sampleInterleaved(
          { warmup, iterations: slowIterations },
          {
            localTrivial: blockProbe(local, TRIVIAL),
            localPandas: blockProbe(local, PANDAS),
            statelessTrivial: blockProbe(stateless, TRIVIAL),
            statelessPandas: blockProbe(stateless, PANDAS),
          },
        );
        const persistent = await sampleInterleaved(
          { warmup, iterations: fastIterations },
          {
            sdkTrivial: sdkProbe(sandbox, TRIVIAL),
            statefulTrivial: blockProbe(stateful, TRIVIAL),
            sdkPandas: sdkProbe(sandbox, PANDAS),
            statefulPandas: blockProbe(stateful, PANDAS),
          },
        );
        figures.add(
          'execution.local.trivial',
          'LocalCommandLineCodeExecutor print(1) (host process, no isolation)',
          'ms',
          perProcess.localTrivial,
        );
        figures.add(
          'execution.local.pandas',
          'LocalCommandLineCodeExecutor pandas snippet',
          'ms',
          perProcess.localPandas,
        );
        figures.add(
          'execution.sdk.trivial',
          'SDK runIpython print(1) (server round trip)',
          'ms',
          persistent.sdkTrivial,
          {
            baselineId: 'execution.local.trivial',
            targetP50: TARGET_STATEFUL_ROUND_TRIP_MS,
          },
        );
        figures.add(
          'execution.stateful.trivial',
          'HopXCodeExecutor stateful print(1)',
          'ms',
          persistent.statefulTrivial,
          { baselineId: 'execution.local.trivial' },
        );
        figures.add(
          'execution.stateless.trivial',
          'HopXCodeExecutor stateless print(1) (fresh process)',
          'ms',
          perProcess.statelessTrivial,
          { baselineId: 'execution.local.trivial' },
        );
        figures.add(
          'execution.sdk.pandas',
          'SDK runIpython pandas snippet (warm interpreter)',
          'ms',
          persistent.sdkPandas,
          {
            baselineId: 'execution.local.pandas',
          },
        );
        figures.add(
          'execution.stateful.pandas',
          'HopXCodeExecutor stateful pandas snippet',
          'ms',
          persistent.statefulPandas,
          { baselineId: 'execution.local.pandas' },
        );
        figures.add(
          'execution.stateless.pandas',
          'HopXCodeExecutor stateless pandas snippet (fresh process)',
          'ms',
          perProcess.statelessPandas,
          { baselineId: 'execution.local.pandas' },
        );
      } finally {
        await Promise.all([stateful.close(), stateless.close(), sandbox.kill()]);
      }
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
