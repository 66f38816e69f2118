// Example 7: a group chat whose turns a custom speaker-selection function routes, in one sandbox.
import {
  AssistantAgent,
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
import { wine } from './team-prompts.js';

const server = await startLocalSandboxServer();
const outputDir = 'out/complete-example'; // where the figures the code shows are saved
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey, outputDir });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const codeExecutionConfig = { executor };
  const user = new UserProxyAgent({ name: 'User', humanInputMode: 'NEVER', codeExecutionConfig });
  const llmConfig = llmConfigFor(dataAnalystScript);
  const dataAnalyst = new AssistantAgent({ name: 'DataAnalyst', systemMessage: wine.analyst, llmConfig });
  const criticModel = llmConfigFor(criticScript);
  const critic = new AssistantAgent({ name: 'Critic', systemMessage: wine.critic, llmConfig: criticModel });
  // Code goes to User to run, its output to Critic, everything else back to DataAnalyst.
  const ranCode = (): boolean => contentToString(groupchat.messages.at(-1)?.content).startsWith('exitcode:');
  const groupchat = new GroupChat({
    agents: [user, dataAnalyst, critic],
    speakerSelectionMethod: (lastSpeaker) =>
      lastSpeaker === dataAnalyst ? user : lastSpeaker === user && ranCode() ? critic : dataAnalyst,
  });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: includesTerminate });
  const result = await user.initiateChat(manager, { message: wine.task });
  console.log(`\nEnded by ${result.terminationReason} after ${groupchat.messages.length} messages.`);
} finally {
  await executor.close();
  await server.close();
}
