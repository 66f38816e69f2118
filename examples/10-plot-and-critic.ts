/**
 * Example 10: plot and critic. Coder draws a chart, Runner runs it with `imagesToModel` so the chart goes
 * back to the chat as an image, and Critic (a vision model) asks for changes until it approves. Charts keep
 * the names the code gave them (sales_analysis.png, then sales_analysis-2.png) in out/plot-and-critic/.
 *   npx tsx examples/10-plot-and-critic.ts
 */
import {
  AssistantAgent,
  GroupChat,
  GroupChatManager,
  includesTerminate,
  UserProxyAgent,
} from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { coderScript, criticScript } from './scripted/10-plot-and-critic.js';
import { llmConfigFor } from './scripted/llm-config.js';
import { sales } from './team-prompts.js';

const server = await startLocalSandboxServer();
const outputDir = 'out/plot-and-critic';
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey, outputDir });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const codeExecutionConfig = { executor, imagesToModel: true };
  const runner = new UserProxyAgent({ name: 'Runner', humanInputMode: 'NEVER', codeExecutionConfig });
  const llmConfig = llmConfigFor(coderScript);
  const coder = new AssistantAgent({ name: 'Coder', systemMessage: sales.coder, llmConfig });
  const criticModel = { ...llmConfigFor(criticScript), maxImagesInPrompt: 1 };
  const critic = new AssistantAgent({ name: 'Critic', systemMessage: sales.critic, llmConfig: criticModel });
  const agents = [coder, runner, critic];
  const groupchat = new GroupChat({ agents, speakerSelectionMethod: 'round_robin', maxRound: 8 });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: includesTerminate });
  await runner.initiateChat(manager, { message: sales.task });
  console.log('\nThe charts are in out/plot-and-critic/');
} finally {
  await executor.close();
  await server.close();
}
