/**
 * Example 4: tool-using agents. Two zod-typed tools share one sandbox; the analyst's model calls them and
 * the tool runner executes them. Offline, installPackage fails with a clear message and the analyst carries on.
 *   npx tsx examples/04-tool-using-agents.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import {
  AssistantAgent,
  defineTool,
  includesTerminate,
  registerFunction,
  UserProxyAgent,
} from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { z } from 'zod';
import { analystScript } from './scripted/04-tool-using-agents.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
const runDataAnalysis = defineTool({
  name: 'runDataAnalysis',
  description:
    'Runs Python in the sandbox (pandas, scikit-learn, matplotlib; variables persist); returns its output.',
  parameters: z.object({ code: z.string().min(1) }),
  execute: async ({ code }) => (await executor.executeCodeBlocks([{ code, language: 'python' }])).output,
});
const installPackage = defineTool({
  name: 'installPackage',
  description: 'Installs a pip package in the sandbox; needs network access from the sandbox.',
  parameters: z.object({ packageName: z.string().regex(/^[A-Za-z0-9][\w.-]*$/) }),
  async execute({ packageName }) {
    const code = `python3 -m pip install -qqq --retries 0 --timeout 5 ${packageName}`;
    const result = await executor.executeCodeBlocks([{ code, language: 'bash' }]);
    if (result.exitCode === 0) return `Installed ${packageName}.`;
    throw new Error(
      `could not install ${packageName}: the sandbox has no network access; use what is installed`,
    );
  },
});
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const analyst = new AssistantAgent({
    name: 'analyst',
    systemMessage:
      'You are a data analyst. Work through your tools, one call at a time; if one fails, adapt. When done, summarise and reply TERMINATE.',
    llmConfig: llmConfigFor(analystScript),
  });
  const isTerminationMsg = includesTerminate;
  const toolRunner = new UserProxyAgent({ name: 'tool_runner', humanInputMode: 'NEVER', isTerminationMsg });
  for (const tool of [runDataAnalysis, installPackage])
    registerFunction(tool, { caller: analyst, executor: toolRunner });
  await toolRunner.initiateChat(analyst, {
    message:
      'Install tabulate, compute the mean iris measurements per species (scikit-learn), and plot petal length against width by species, saved as iris_petals.png.',
  });
  await mkdir('out', { recursive: true });
  await writeFile('out/iris_petals.png', await executor.downloadFile('iris_petals.png'));
  console.log('\nDownloaded the chart from the sandbox to out/iris_petals.png');
} finally {
  await executor.close();
  await server.close();
}
