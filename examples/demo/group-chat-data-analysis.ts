/**
 * The demo (`npx pnpm@10 demo`): a group chat analyses sales data in a sandbox.
 * User runs the code, Coder writes it, Analyst interprets the numbers, Reviewer checks the work;
 * a GroupChatManager picks who speaks next. The run ends with out/<run-id>/report.html.
 *
 * Unlike the examples, it runs inside a harness (demo/support/) that picks the runtime, records the
 * transcript, shows progress and writes the report; the examples show the same API without it.
 *
 *   npx tsx examples/demo/group-chat-data-analysis.ts
 */
import { AssistantAgent, contentToString, GroupChat, GroupChatManager, UserProxyAgent } from '@hopgen/agents';
import { analystScript, coderScript, managerScript, reviewerScript } from './scripted-replies.js';
import { downloadCharts, savedChartNames } from './support/charts.js';
import { runExample } from './support/run-example.js';

const task =
  'Create synthetic sales data (columns date, product, region, amount) for 2024 and analyse it: total sales by product, the best region, the monthly trend, and a chart saved as sales_analysis.png.';

const mentionsTerminate = (message: { content?: unknown }) =>
  contentToString(message.content as string).includes('TERMINATE');

await runExample(
  {
    slug: 'group-chat-data-analysis',
    title: 'Group chat: sales data analysis',
    task,
    scripts: {
      Coder: coderScript,
      Analyst: analystScript,
      Reviewer: reviewerScript,
      chat_manager: managerScript,
    },
  },
  async ({ runtime, renderer, watch, recorder, runDirectory }) => {
    const executor = runtime.createExecutor({ timeoutMs: 120_000 });

    const user = new UserProxyAgent({
      name: 'User',
      humanInputMode: 'NEVER',
      codeExecutionConfig: { executor },
      renderer,
    });
    const coder = new AssistantAgent({
      name: 'Coder',
      description: 'Writes the Python code (pandas, matplotlib) that User runs in the sandbox.',
      systemMessage: `You are Coder, a Python data engineer in a team. You write code; User runs it in a sandbox that has numpy, pandas and matplotlib, and reports the output.
- Send exactly one complete \`\`\`python block per message; print every number you compute.
- Files persist in the working directory between runs (for example sales.csv).
- For a chart, save it with fig.savefig("<name>.png") and then call plt.show() so the image is returned.
- Do not interpret results: the Analyst does. If the code fails, fix it and send the whole code again.`,
      llmConfig: runtime.llmConfig('Coder'),
      renderer,
    });
    const analyst = new AssistantAgent({
      name: 'Analyst',
      description: 'Interprets the numbers the code printed and asks Coder for charts. Never writes code.',
      systemMessage:
        'You are Analyst. Read the execution results and explain what they mean, with the numbers: the top product, the best region, the monthly trend. Never write code. When a chart would help and none exists yet, ask Coder for it.',
      llmConfig: runtime.llmConfig('Analyst'),
      renderer,
    });
    const reviewer = new AssistantAgent({
      name: 'Reviewer',
      description: 'Checks that the task is complete and correct, and ends the chat with TERMINATE.',
      systemMessage:
        'You are Reviewer. Check that the task is complete: totals by product, the best region, the monthly trend and a chart were produced in the sandbox and the numbers agree. If something is missing, say what. When everything is done, summarise in three bullet points and end with TERMINATE.',
      llmConfig: runtime.llmConfig('Reviewer'),
      renderer,
    });

    const groupchat = new GroupChat({ agents: [user, coder, analyst, reviewer], maxRound: 14 });
    const manager = new GroupChatManager({
      groupchat,
      llmConfig: runtime.llmConfig('chat_manager'),
      isTerminationMsg: mentionsTerminate,
      renderer,
    });
    watch(user, coder, analyst, reviewer, manager);

    recorder.beginChat('User → group');
    const result = await user.initiateChat(manager, { message: task });
    recorder.endChat(result);

    // A model may save the chart without displaying it: fetch the files it saved instead.
    if (recorder.charts.length === 0) {
      await downloadCharts(
        executor,
        savedChartNames(groupchat.messages.map((message) => ({ message }))),
        runDirectory,
        recorder,
      );
    }

    const problems: string[] = [];
    if (!groupchat.messages.some((message) => contentToString(message.content).startsWith('exitcode: 0')))
      problems.push('No code ran successfully in the sandbox.');
    if (recorder.charts.length === 0) problems.push('No chart was produced.');
    if (result.terminationReason !== 'termination-message')
      problems.push(`The chat ended with ${result.terminationReason} instead of the Reviewer's TERMINATE.`);
    return { problems };
  },
);
