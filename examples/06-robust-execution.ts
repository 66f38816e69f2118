/**
 * Example 6: robust execution. The sandbox is killed mid-chat, as a crash or an expired sandbox would;
 * the executor starts a fresh one, its output says "[sandbox restarted: earlier state was lost]", and
 * the assistant rebuilds its state.   npx tsx examples/06-robust-execution.ts
 */
import { AssistantAgent, contentToString, includesTerminate, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { robustExecution } from './prompts.js';
import { assistantScript } from './scripted/06-robust-execution.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const { systemMessage, task } = robustExecution;
  const llmConfig = llmConfigFor(assistantScript);
  const assistant = new AssistantAgent({ name: 'assistant', systemMessage, llmConfig });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: includesTerminate,
    codeExecutionConfig: { executor },
  });
  // The fault: before the second code message runs, delete the sandbox behind the executor's back.
  let codeMessages = 0;
  user.registerReply([AssistantAgent], async ({ messages }) => {
    if (contentToString(messages.at(-1)?.content).includes('```') && ++codeMessages === 2) {
      const url = `${server.baseURL}/v1/sandboxes/${executor.sandboxId}`;
      const response = await fetch(url, { method: 'DELETE', headers: { 'X-API-Key': server.apiKey } });
      console.log(`\nFAULT INJECTED: sandbox ${executor.sandboxId} killed (HTTP ${response.status})`);
    }
    return { final: false };
  });
  await user.initiateChat(assistant, { message: task });
} finally {
  await executor.close();
  await server.close();
}
