/**
 * Example 1: two agents. The assistant writes Python, the user proxy runs it in a sandbox and
 * reports the output, until the assistant answers and says TERMINATE.
 *
 *   npx tsx examples/01-two-agents.ts
 */
import { AssistantAgent, contentToString, UserProxyAgent } from '@hopgen/agents';
import { assistantScript } from './scripted/01-two-agents.js';
import { runExample } from './support/run-example.js';

const task = 'Calculate the first 100 prime numbers and find their sum.';

await runExample(
  {
    slug: 'two-agents',
    title: 'Two agents: the first 100 primes',
    task,
    scripts: { assistant: assistantScript },
  },
  async ({ runtime, renderer, watch, recorder }) => {
    const executor = runtime.createExecutor();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: runtime.llmConfig('assistant'),
      renderer,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      maxConsecutiveAutoReply: 8,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      codeExecutionConfig: { executor },
      renderer,
    });
    watch(assistant, user);

    recorder.beginChat('user → assistant');
    const result = await user.initiateChat(assistant, { message: task });
    recorder.endChat(result);

    const runs = result.chatHistory.filter((message) =>
      contentToString(message.content).startsWith('exitcode:'),
    );
    return {
      problems: runs.some((message) => contentToString(message.content).startsWith('exitcode: 0'))
        ? []
        : ['No code ran successfully in the sandbox.'],
    };
  },
);
