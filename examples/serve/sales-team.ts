/**
 * The demo's sales team as a pipeline for `hopgen serve`: start it from the page, watch it work, answer
 * User when it asks, approve its code before it runs.
 *
 *   npx tsx packages/cli/src/main.ts serve --pipelines examples/serve/sales-team.ts   (in the repository)
 *   npx hopgen serve --pipelines sales-team.js                                          (installed)
 *
 * Model: OPENAI_BASE_URL (an OpenAI-compatible server) or OPENAI_API_KEY, else the demo's scripted
 * replies. Sandbox: HopX with HOPX_API_KEY (and HOPX_BASE_URL), else a local sandbox server. Charts
 * go to HOPGEN_OUTPUT_DIRECTORY/<run id> (default .hopgen/outputs).
 */
import { join } from 'node:path';
import { definePipeline, type LlmConfig } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { z } from 'zod';
import { buildSalesTeam, SALES_TASK } from '../demo/sales-team.js';
import { analystScript, coderScript, managerScript, reviewerScript } from '../demo/scripted-replies.js';

const scripts = {
  Coder: coderScript,
  Analyst: analystScript,
  Reviewer: reviewerScript,
  chat_manager: managerScript,
};

function llmConfig(agentName: string): LlmConfig {
  const baseURL = process.env['OPENAI_BASE_URL'];
  const apiKey = process.env['OPENAI_API_KEY'];
  if (!baseURL && !apiKey) {
    return { modelClient: new ScriptedModelClient({ replies: scripts[agentName as keyof typeof scripts] }) };
  }
  const model = process.env['OPENAI_MODEL'] ?? 'gpt-4o-mini';
  // Streamed, so the page shows the answer token by token.
  return {
    configList: [{ model, ...(baseURL ? { baseURL } : {}), ...(apiKey ? { apiKey } : {}) }],
    stream: true,
  };
}

let sandbox: Promise<{ apiKey: string; baseURL?: string }> | undefined;

/** HopX when configured, else one local sandbox server for every run of this process. */
function sandboxEndpoint(): Promise<{ apiKey: string; baseURL?: string }> {
  const apiKey = process.env['HOPX_API_KEY'];
  const baseURL = process.env['HOPX_BASE_URL'];
  if (apiKey) return Promise.resolve({ apiKey, ...(baseURL ? { baseURL } : {}) });
  sandbox ??= startLocalSandboxServer({ host: '127.0.0.1', port: 0 });
  return sandbox;
}

/** The pipelines `hopgen serve` loads from this module. */
export const pipelines = [
  definePipeline({
    name: 'sales-analysis',
    input: z.object({ task: z.string().min(1).default(SALES_TASK) }),
    build: async ({ task }, { runId }) => {
      const executor = new HopXCodeExecutor({
        ...(await sandboxEndpoint()),
        timeoutMs: 120_000,
        // Charts are kept per run, so the page can show them after the run and after a restart.
        outputDir: join(process.env['HOPGEN_OUTPUT_DIRECTORY'] ?? join('.hopgen', 'outputs'), runId),
      });
      const team = buildSalesTeam({ llmConfig, executor, humanInputMode: 'ALWAYS', silent: true });
      return {
        agents: [team.user, team.coder, team.analyst, team.reviewer, team.manager],
        chat: { sender: team.user, recipient: team.manager, message: task },
      };
    },
  }),
];
