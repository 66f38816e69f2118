// Child process of durable-crash.test.ts: runs (or resumes) one durable group chat with code
// execution, a tool and human input, against the test's model server and sandbox server (both in
// the test process, so they outlive this one). It prints every log entry as it is written, so the
// test can SIGKILL it at a chosen point. The sandbox's API key comes in HOPX_API_KEY, never argv.
import {
  AssistantAgent,
  type ConversableAgent,
  defineTool,
  FileRunStore,
  GroupChat,
  GroupChatManager,
  LocalCommandLineCodeExecutor,
  resumeRun,
  startChat,
  UserProxyAgent,
} from '@hopgen/agents';
import { z } from 'zod';
import { HopXCodeExecutor } from '../../src/index.js';

const [mode, storeDirectory, runId, baseURL, workDir, sandboxBaseURL] = process.argv.slice(2) as [
  'start' | 'resume',
  string,
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
// 'local' runs blocks as host processes in workDir; otherwise in a HopX sandbox of the test's server.
const executor =
  sandboxBaseURL === 'local'
    ? new LocalCommandLineCodeExecutor({ workDir, timeoutMs: 20_000 })
    : new HopXCodeExecutor({ baseURL: sandboxBaseURL, stateful: true, timeoutMs: 20_000 });
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
  codeExecutionConfig: { executor },
  silent: true,
});
user.registerForExecution(lookup);
const order: ConversableAgent[] = [coder, user, analyst, user];
const groupchat = new GroupChat({
  agents: [user, coder, analyst],
  speakerSelectionMethod: (_last, group) => order[(group.messages.length - 1) % order.length]!,
  // Long enough that 24 kills at live points (each after progress) always fit before the end.
  maxRound: 57,
});
const manager = new GroupChatManager({ groupchat, silent: true });

const store = new FileRunStore({ directory: storeDirectory });
// Only live events are printed: the test's kill triggers must fire where this process made progress,
// not on entries a resumed run replays from the log.
const launchedAt = (await store.loadRun(runId))?.entries.at(-1)?.sequence ?? 0;
const run =
  mode === 'start'
    ? await startChat(user, manager, { message: 'Count the blocks.', store, runId })
    : await resumeRun(runId, { agents: [user, manager], store });
const printing = (async () => {
  for await (const event of run.events({ after: launchedAt })) {
    process.stdout.write(`entry ${event.sequence} ${event.type} ${event.key}\n`);
  }
})();
await run.result;
await printing;
if (executor instanceof HopXCodeExecutor) {
  // What the sandbox itself counted: every block appended one line to this file.
  const counted = await executor.executeCodeBlocks([
    { code: 'print(open("blocks.log").read(), end="")', language: 'python' },
  ]);
  process.stdout.write(`blocks ${JSON.stringify(counted.output)}\n`);
  await executor.close();
}
process.stdout.write(`transcript ${JSON.stringify(groupchat.messages)}\n`);
