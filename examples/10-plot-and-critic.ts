/**
 * Example 10: a plot-and-critic team. Coder writes a chart, Runner runs it in a sandbox with
 * `imagesToModel`, so the chart goes back to the chat as an image, and Critic, a vision model, looks at it
 * and asks for changes until it approves. The chart keeps the name the code gave it (sales_analysis.png;
 * the redrawn one becomes sales_analysis-2.png) and the text names it relative to the output folder.
 *
 *   npx tsx examples/10-plot-and-critic.ts
 */
import { AssistantAgent, contentToString, GroupChat, GroupChatManager, UserProxyAgent } from '@hopgen/agents';
import { coderScript, criticScript } from './scripted/10-plot-and-critic.js';
import { runExample } from './support/run-example.js';

const task =
  'Plot sales by region (North-East 182, North-West 145, South-East 121, South-West 98, Central 160, Islands 44) and make the chart easy to read.';

await runExample(
  {
    slug: 'plot-and-critic',
    title: 'Plot and critic',
    task,
    scripts: { Coder: coderScript, Critic: criticScript },
  },
  async ({ runtime, renderer, watch, recorder, runDirectory }) => {
    const runner = new UserProxyAgent({
      name: 'Runner',
      humanInputMode: 'NEVER',
      codeExecutionConfig: {
        executor: runtime.createExecutor({ outputDir: runDirectory }),
        imagesToModel: true,
      },
      renderer,
    });
    const coder = new AssistantAgent({
      name: 'Coder',
      systemMessage:
        "You are Coder. Write one Python block that draws the chart with matplotlib and saves it with savefig. Apply the Critic's requests.",
      llmConfig: runtime.llmConfig('Coder'),
      renderer,
    });
    const critic = new AssistantAgent({
      name: 'Critic',
      systemMessage:
        'You are Critic. Look at the chart image. Ask for concrete changes, or approve it and say TERMINATE.',
      llmConfig: runtime.llmConfig('Critic', { maxImagesInPrompt: 1 }),
      renderer,
    });
    const groupchat = new GroupChat({
      agents: [coder, runner, critic],
      speakerSelectionMethod: 'round_robin',
      maxRound: 8,
    });
    const manager = new GroupChatManager({
      groupchat,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      renderer,
    });
    watch(coder, runner, critic, manager);

    recorder.beginChat('Runner → group');
    const result = await runner.initiateChat(manager, { message: task });
    recorder.endChat(result);

    const approved = groupchat.messages.some(
      (message) => message.name === 'Critic' && contentToString(message.content).includes('Approved'),
    );
    return { problems: approved ? [] : ['The Critic did not approve a chart it was shown.'] };
  },
);
