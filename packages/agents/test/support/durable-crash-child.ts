// Child process of durable-crash.test.ts: runs (or resumes) one durable group chat with code
// execution, a tool and human input, against the test's model server. It prints every log entry
// as it is written, so the test can SIGKILL it at a chosen point.

import { z } from 'zod';
import {
  AssistantAgent,
  type ConversableAgent,
  FileRunStore,
  GroupChat,
  GroupChatManager,
  LocalCommandLineCodeExecutor,
  resumeRun,
  startChat,
  UserProxyAgent,
} from '../../src/index.js';
import { defineTool } from '../../src/tools/define-tool.js';

const [mode, storeDirectory, runId, baseURL, workDir] = process.argv.slice(2) as [
  'start' | 'resume',
  string,
  string,
  string,
  string,
];

const llmConfig = {
  configList: [{ model: 'gpt-4o-mini', apiKey: 'test-key', baseURL }],
  cacheSeed: null,
  maxRetries: 0,
};
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a number up.',
  parameters: z.object({ n: z.number() }),
  execute: async ({ n }) => {
    process.stdout.write('tool-start\n');
    // Long enough for the test to kill the process while the tool runs.
    await new Promise((resolve) => setTimeout(resolve, 400));
    return `looked up ${n}: ${n * 7}`;
  },
});
const coder = new AssistantAgent({
  name: 'coder',
  systemMessage: 'You write code.',
  llmConfig,
  silent: true,
});
const analyst = new AssistantAgent({
  name: 'analyst',
  systemMessage: 'You look things up.',
  llmConfig,
  silent: true,
});
analyst.registerForLlm(lookup);
const user = new UserProxyAgent({
  name: 'user',
  humanInputMode: 'ALWAYS',
  codeExecutionConfig: { executor: new LocalCommandLineCodeExecutor({ workDir, timeoutMs: 20_000 }) },
  silent: true,
});
user.registerForExecution(lookup);
const order: ConversableAgent[] = [coder, user, analyst, user];
const groupchat = new GroupChat({
  agents: [user, coder, analyst],
  speakerSelectionMethod: (_last, group) => order[(group.messages.length - 1) % order.length]!,
  maxRound: 29,
});
const manager = new GroupChatManager({ groupchat, silent: true });

const store = new FileRunStore({ directory: storeDirectory });
const run =
  mode === 'start'
    ? await startChat(user, manager, { message: 'Count the blocks.', store, runId })
    : await resumeRun(runId, { agents: [user, manager], store });
const printing = (async () => {
  for await (const event of run.events()) {
    process.stdout.write(`entry ${event.sequence} ${event.type} ${event.key}\n`);
  }
})();
await run.result;
await printing;
process.stdout.write(`transcript ${JSON.stringify(groupchat.messages)}\n`);
