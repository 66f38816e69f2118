/**
 * Example 1: two agents. The assistant writes Python, the user proxy runs it in a local sandbox and
 * sends back the output, until the assistant answers and says TERMINATE.
 *
 *   npx tsx examples/01-two-agents.ts
 */
import { AssistantAgent, contentToString, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { assistantScript } from './scripted/01-two-agents.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer(); // or HopX cloud: skip this and set HOPX_API_KEY
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const assistant = new AssistantAgent({ name: 'assistant', llmConfig: llmConfigFor(assistantScript) });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    maxConsecutiveAutoReply: 8,
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    codeExecutionConfig: { executor }, // code runs in the sandbox, never on the host
  });
  const result = await user.initiateChat(assistant, {
    message: 'Calculate the first 100 prime numbers and find their sum.',
  });
  console.log(`\nEnded by ${result.terminationReason}. Summary: ${result.summary}`);
} finally {
  await executor.close();
  await server.close();
}
