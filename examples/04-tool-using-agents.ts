// Example 4: zod-typed tools on one sandbox. Offline, installPackage fails clearly and the analyst adapts.
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
import { analystSystemMessage, irisTask } from './prompts.js';
import { analystScript } from './scripted/04-tool-using-agents.js';
import { llmConfigFor } from './scripted/llm-config.js';
import { installPackageTool } from './tools/install-package.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
const runDataAnalysis = defineTool({
  name: 'runDataAnalysis',
  description: 'Runs Python in the sandbox (pandas, scikit-learn, matplotlib; variables persist).',
  parameters: z.object({ code: z.string().min(1) }),
  execute: async ({ code }) => (await executor.executeCodeBlocks([{ code, language: 'python' }])).output,
});
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const llmConfig = llmConfigFor(analystScript);
  const analyst = new AssistantAgent({ name: 'analyst', systemMessage: analystSystemMessage, llmConfig });
  const isTerminationMsg = includesTerminate;
  const toolRunner = new UserProxyAgent({ name: 'tool_runner', humanInputMode: 'NEVER', isTerminationMsg });
  for (const tool of [runDataAnalysis, installPackageTool(executor)])
    registerFunction(tool, { caller: analyst, executor: toolRunner });
  await toolRunner.initiateChat(analyst, { message: irisTask });
  await mkdir('out', { recursive: true });
  await writeFile('out/iris_petals.png', await executor.downloadFile('iris_petals.png')); // from the sandbox
} finally {
  await executor.close();
  await server.close();
}
