/**
 * Example 10: plot and critic. Coder draws a chart, Runner runs it with `imagesToModel` so the chart goes
 * back to the chat as an image, and Critic (a vision model) asks for changes until it approves. Charts keep
 * the names the code gave them (sales_analysis.png, then sales_analysis-2.png) in out/plot-and-critic/.
 *   npx tsx examples/10-plot-and-critic.ts
 */
import { resolve } from 'node:path';
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

const server = await startLocalSandboxServer();
const outputDir = resolve('out/plot-and-critic');
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey, outputDir });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const codeExecutionConfig = { executor, imagesToModel: true };
  const runner = new UserProxyAgent({ name: 'Runner', humanInputMode: 'NEVER', codeExecutionConfig });
  const coder = new AssistantAgent({
    name: 'Coder',
    systemMessage:
      "You are Coder. Write one Python block that draws the chart with matplotlib and saves it with savefig. Apply the Critic's requests.",
    llmConfig: llmConfigFor(coderScript),
  });
  const critic = new AssistantAgent({
    name: 'Critic',
    systemMessage:
      'You are Critic. Look at the chart image. Ask for concrete changes, or approve it and say TERMINATE.',
    llmConfig: { ...llmConfigFor(criticScript), maxImagesInPrompt: 1 },
  });
  const groupchat = new GroupChat({
    agents: [coder, runner, critic],
    speakerSelectionMethod: 'round_robin',
    maxRound: 8,
  });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: includesTerminate });
  await runner.initiateChat(manager, {
    message:
      'Plot sales by region (North-East 182, North-West 145, South-East 121, South-West 98, Central 160, Islands 44) and make the chart easy to read.',
  });
  console.log('\nThe charts are in out/plot-and-critic/');
} finally {
  await executor.close();
  await server.close();
}
