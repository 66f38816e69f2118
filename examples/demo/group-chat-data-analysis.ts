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
import { contentToString } from '@hopgen/agents';
import { buildSalesTeam, SALES_TASK } from './sales-team.js';
import { analystScript, coderScript, managerScript, reviewerScript } from './scripted-replies.js';
import { downloadCharts, savedChartNames } from './support/charts.js';
import { runExample } from './support/run-example.js';

const task = SALES_TASK;

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

    const { user, coder, analyst, reviewer, groupchat, manager } = buildSalesTeam({
      llmConfig: (name) => runtime.llmConfig(name),
      executor,
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
