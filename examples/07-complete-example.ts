/**
 * Example 7: a group chat. A user proxy that runs code, a data analyst and a critic share one
 * sandbox; a custom speaker-selection function routes the turns; figures the code shows are saved in
 * out/complete-example/; try/finally closes the sandbox whatever happens.
 *
 *   npx tsx examples/07-complete-example.ts
 */
import { resolve } from 'node:path';
import {
  AssistantAgent,
  type ConversableAgent,
  contentToString,
  GroupChat,
  GroupChatManager,
  includesTerminate,
  UserProxyAgent,
} from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { criticScript, dataAnalystScript } from './scripted/07-complete-example.js';
import { llmConfigFor } from './scripted/llm-config.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({
  baseURL: server.baseURL,
  apiKey: server.apiKey,
  outputDir: resolve('out/complete-example'),
});
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const user = new UserProxyAgent({
    name: 'User',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor },
  });
  const dataAnalyst = new AssistantAgent({
    name: 'DataAnalyst',
    llmConfig: llmConfigFor(dataAnalystScript),
    systemMessage:
      'You are DataAnalyst. Answer with one ```python block (pandas, scipy, scikit-learn, matplotlib); print every number; show charts with plt.show(). If the code fails, send all of it corrected.',
  });
  const critic = new AssistantAgent({
    name: 'Critic',
    llmConfig: llmConfigFor(criticScript),
    systemMessage:
      'You are Critic. Check the method, the numbers and the chart. If something is wrong, say what DataAnalyst must fix; if right, summarise the answer in two sentences and end with TERMINATE.',
  });
  // Code goes to User to run, results go to Critic, everything else back to DataAnalyst.
  const selectSpeaker = (lastSpeaker: ConversableAgent, groupchat: GroupChat) =>
    lastSpeaker === dataAnalyst
      ? user
      : lastSpeaker === user && contentToString(groupchat.messages.at(-1)?.content).startsWith('exitcode:')
        ? critic
        : dataAnalyst;
  const groupchat = new GroupChat({
    agents: [user, dataAnalyst, critic],
    speakerSelectionMethod: selectSpeaker,
    maxRound: 10,
  });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: includesTerminate });
  const result = await user.initiateChat(manager, {
    message:
      "Which features of scikit-learn's wine dataset best separate the three cultivars? Rank them and plot the best three.",
  });
  console.log(`\nEnded by ${result.terminationReason} after ${groupchat.messages.length} messages.`);
} finally {
  await executor.close();
  await server.close();
}
