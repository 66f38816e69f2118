/**
 * Example 2: state persists across messages. Three separate requests run in one sandbox: the
 * DataFrame `df` created by the first is used by the next two without being rebuilt, and the
 * histogram saved in the sandbox is downloaded at the end.
 *
 *   npx tsx examples/02-persistent-state.ts
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AssistantAgent, contentToString, UserProxyAgent } from '@hopgen/agents';
import { assistantScript } from './scripted/02-persistent-state.js';
import { downloadCharts, isPng } from './support/charts.js';
import { runExample } from './support/run-example.js';

const requests = [
  'Create a pandas DataFrame `df` with 1000 rows and numeric columns A, B and C (seeded random data).',
  'Add a column D = A + B * C to `df` and show its statistics.',
  'Save a histogram of D as histogram_D.png.',
];

await runExample(
  {
    slug: 'persistent-state',
    title: 'Persistent state across messages',
    task: requests.join(' Then: '),
    scripts: { assistant: assistantScript },
  },
  async ({ runtime, renderer, watch, recorder, runDirectory }) => {
    const executor = runtime.createExecutor();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: runtime.llmConfig('assistant'),
      systemMessage:
        'You are a data assistant. The user runs your Python in one sandbox whose interpreter keeps its variables between messages, so reuse what earlier code created. Send one complete ```python block per reply and print what you compute. Save charts with fig.savefig("<name>.png") then plt.show(). When the current request is done, say so briefly and reply TERMINATE.',
      renderer,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      maxConsecutiveAutoReply: 5,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      codeExecutionConfig: { executor },
      renderer,
    });
    watch(assistant, user);

    const problems: string[] = [];
    for (const [index, message] of requests.entries()) {
      recorder.beginChat(`request ${index + 1}`);
      // clearHistory: false keeps the conversation, and the sandbox keeps `df`.
      const result = await user.initiateChat(assistant, { message, clearHistory: index === 0 });
      recorder.endChat(result);
    }

    const runs = (user.chatMessages.get(assistant) ?? []).filter((message) =>
      contentToString(message.content).startsWith('exitcode:'),
    );
    if (
      runs.length < requests.length ||
      runs.some((message) => !contentToString(message.content).startsWith('exitcode: 0'))
    )
      problems.push('Not every request ran successfully in the sandbox.');

    const [downloaded] = await downloadCharts(executor, ['histogram_D.png'], runDirectory, recorder);
    if (downloaded === undefined) problems.push('histogram_D.png could not be downloaded from the sandbox.');
    else {
      const bytes = await readFile(join(runDirectory, downloaded));
      if (!isPng(bytes)) problems.push('The downloaded histogram_D.png is not a PNG.');
      else process.stdout.write(`\nDownloaded histogram_D.png from the sandbox (${bytes.length} bytes).\n`);
    }
    return { problems };
  },
);
