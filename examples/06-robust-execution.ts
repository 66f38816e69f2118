/**
 * Example 6: robust execution. The sandbox is killed in the middle of the chat, as a crash or an
 * expired sandbox would. The executor starts a fresh sandbox, its output says
 * "[sandbox restarted: earlier state was lost]", and the assistant rebuilds its state.
 *
 *   npx tsx examples/06-robust-execution.ts
 */
import { AssistantAgent, contentToString, includesTerminate, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { assistantScript } from './scripted/06-robust-execution.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: llmConfigFor(assistantScript),
    systemMessage:
      'You are a data assistant. Your Python runs in a sandbox that keeps variables between messages. One ```python block per reply. If the output says the sandbox was restarted, rebuild the lost state. When done, give the numbers and reply TERMINATE.',
  });
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
      console.log(
        `\n>>>>>>>> FAULT INJECTED: sandbox ${executor.sandboxId} killed (HTTP ${response.status})`,
      );
    }
    return { final: false };
  });
  await user.initiateChat(assistant, {
    message:
      'Load a day of temperature readings (5,000 values, mean about 20 C) into memory, then in a second step report their mean and how many are above 28 C.',
  });
} finally {
  await executor.close();
  await server.close();
}
