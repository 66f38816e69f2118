/**
 * Example 4: tool-using agents. Three zod-typed tools share one sandbox: runDataAnalysis,
 * createVisualization and installPackage. The analyst's model calls them; the executor agent runs
 * them. Offline (the local sandbox has no network), installPackage fails fast with a clear message
 * and the analyst carries on without the package.
 *
 *   npx tsx examples/04-tool-using-agents.ts
 */
import { AssistantAgent, contentToString, registerFunction, UserProxyAgent } from '@hopgen/agents';
import { analystScript } from './scripted/04-tool-using-agents.js';
import { runExample } from './support/run-example.js';
import { createSandboxTools } from './support/sandbox-tools.js';

const task =
  'Using your tools: install the tabulate package to print tables, compute the mean sepal and petal measurements per species of the iris dataset (from scikit-learn), and create a scatter plot of petal length against petal width by species, saved as iris_petals.png.';

await runExample(
  { slug: 'tool-using-agents', title: 'Tool-using agents', task, scripts: { analyst: analystScript } },
  async ({ runtime, renderer, watch, recorder, runDirectory }) => {
    const executor = runtime.createExecutor({ timeoutMs: 60_000 });
    const analyst = new AssistantAgent({
      name: 'analyst',
      systemMessage:
        'You are a data analyst. Work only through your tools, one call at a time: runDataAnalysis runs Python in a sandbox whose variables persist between calls, createVisualization saves a chart, installPackage installs a pip package. If a tool fails, read its message and adapt. When everything is done, summarise the results and reply TERMINATE.',
      llmConfig: runtime.llmConfig('analyst'),
      renderer,
    });
    const toolRunner = new UserProxyAgent({
      name: 'tool_runner',
      humanInputMode: 'NEVER',
      maxConsecutiveAutoReply: 10,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      renderer,
    });
    watch(analyst, toolRunner);

    const tools = createSandboxTools({ executor, runDirectory, recorder, toolRunner: () => toolRunner });
    for (const tool of Object.values(tools))
      registerFunction(tool, { caller: analyst, executor: toolRunner });

    recorder.beginChat('tool_runner → analyst');
    const result = await toolRunner.initiateChat(analyst, { message: task });
    recorder.endChat(result);

    const toolAnswers = result.chatHistory.flatMap((message) =>
      (message.tool_responses ?? []).map((response) => contentToString(response.content)),
    );
    const problems: string[] = [];
    if (toolAnswers.length === 0) problems.push('No tool was called.');
    if (recorder.charts.length === 0) problems.push('createVisualization produced no chart.');
    if (result.terminationReason !== 'termination-message')
      problems.push(`The chat ended with ${result.terminationReason} instead of TERMINATE.`);
    return { problems };
  },
);
