/**
 * Example 7: the complete example. A factory builds the team (a user proxy that runs code, a data
 * analyst, a critic) around one sandbox; a custom speaker-selection function routes the turns; and
 * try/finally closes the executor whatever happens.
 *
 *   npx tsx examples/07-complete-example.ts
 */
import {
  AssistantAgent,
  type ConversableAgent,
  contentToString,
  GroupChat,
  GroupChatManager,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';
import type { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { criticScript, dataAnalystScript } from './scripted/07-complete-example.js';
import type { Runtime } from './support/choose-runtime.js';
import { runExample } from './support/run-example.js';

const task =
  "Which features of scikit-learn's wine dataset best separate the three cultivars? Rank them and plot the best three.";

const isTermination = (message: { content?: unknown }) =>
  contentToString(message.content as string).includes('TERMINATE');

/** Builds the team around one executor: who runs code, who writes it, who reviews it, and who routes. */
function createAnalysisTeam(runtime: Runtime, executor: HopXCodeExecutor, renderer: TranscriptRenderer) {
  const user = new UserProxyAgent({
    name: 'User',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor },
    renderer,
  });
  const dataAnalyst = new AssistantAgent({
    name: 'DataAnalyst',
    systemMessage:
      'You are DataAnalyst. Answer with one complete ```python block that User runs in a sandbox with pandas, scipy, scikit-learn and matplotlib. Print every number; save charts with fig.savefig("<name>.png") and then call plt.show(). If the code fails, send the whole corrected code.',
    llmConfig: runtime.llmConfig('DataAnalyst'),
    renderer,
  });
  const critic = new AssistantAgent({
    name: 'Critic',
    systemMessage:
      'You are Critic. Review the latest results: is the method sound, do the numbers answer the question, was the chart produced? If something is wrong, say what DataAnalyst must fix. If it is right, summarise the answer in two sentences and end with TERMINATE.',
    llmConfig: runtime.llmConfig('Critic'),
    renderer,
  });
  // Deterministic routing: code goes to User to run, results go to Critic, criticism back to DataAnalyst.
  const selectNextSpeaker = (lastSpeaker: ConversableAgent, groupchat: GroupChat): ConversableAgent => {
    const last = contentToString(groupchat.messages.at(-1)?.content);
    if (lastSpeaker === dataAnalyst) return user;
    if (lastSpeaker === user && last.startsWith('exitcode:')) return critic;
    return dataAnalyst;
  };
  const groupchat = new GroupChat({
    agents: [user, dataAnalyst, critic],
    speakerSelectionMethod: selectNextSpeaker,
    maxRound: 10,
  });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: isTermination, renderer });
  return { user, dataAnalyst, critic, groupchat, manager };
}

await runExample(
  {
    slug: 'complete-example',
    title: 'The complete example: a team factory and clean-up',
    task,
    scripts: { DataAnalyst: dataAnalystScript, Critic: criticScript },
  },
  async ({ runtime, renderer, watch, recorder }) => {
    const executor = runtime.createExecutor({ timeoutMs: 120_000 });
    try {
      const team = createAnalysisTeam(runtime, executor, renderer);
      watch(team.user, team.dataAnalyst, team.critic, team.manager);
      recorder.beginChat('User → team');
      const result = await team.user.initiateChat(team.manager, { message: task });
      recorder.endChat(result);

      const problems: string[] = [];
      if (
        !team.groupchat.messages.some((message) => contentToString(message.content).startsWith('exitcode: 0'))
      )
        problems.push('No code ran successfully in the sandbox.');
      if (recorder.charts.length === 0) problems.push('No chart was produced.');
      if (result.terminationReason !== 'termination-message')
        problems.push(`The chat ended with ${result.terminationReason} instead of the Critic's TERMINATE.`);
      return { problems };
    } finally {
      // Kill the sandbox even when the chat throws; runExample then stops the local server.
      await executor.close();
    }
  },
);
