/**
 * Example 2: state persists across messages. Three requests run in one sandbox: the DataFrame `df`
 * the first creates is used by the next two, and the histogram saved in the sandbox is downloaded.
 *   npx tsx examples/02-persistent-state.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { AssistantAgent, includesTerminate, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { persistentState } from './prompts.js';
import { assistantScript } from './scripted/02-persistent-state.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: llmConfigFor(assistantScript),
    systemMessage: persistentState.systemMessage,
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: includesTerminate,
    codeExecutionConfig: { executor },
  });
  // After the first request, clearHistory: false keeps the conversation; the sandbox keeps `df` anyway.
  for (const [index, message] of persistentState.requests.entries()) {
    await user.initiateChat(assistant, { message, clearHistory: index === 0 });
  }
  await mkdir('out', { recursive: true });
  await writeFile('out/histogram_D.png', await executor.downloadFile('histogram_D.png'));
  console.log('\nDownloaded the histogram from the sandbox to out/histogram_D.png');
} finally {
  await executor.close();
  await server.close();
}
