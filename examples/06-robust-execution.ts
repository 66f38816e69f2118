/**
 * Example 6: robust execution. The sandbox is killed in the middle of the chat (as a crash or an
 * expired sandbox would). The executor notices, starts a fresh sandbox and says so in the output
 * ("[sandbox restarted: earlier state was lost]"), the assistant rebuilds its state, and the
 * transcript records what happened.
 *
 *   npx tsx examples/06-robust-execution.ts
 */
import { AssistantAgent, contentToString, UserProxyAgent } from '@hopgen/agents';
import { SANDBOX_RESTARTED_NOTICE } from '@hopgen/executors-hopx';
import { assistantScript } from './scripted/06-robust-execution.js';
import { runExample } from './support/run-example.js';

const task =
  'Load a day of temperature readings (5,000 values, mean about 20 C) into memory, then in a second step report their mean and how many are above 28 C.';

await runExample(
  {
    slug: 'robust-execution',
    title: 'Robust execution: a sandbox dies mid-chat',
    task,
    scripts: { assistant: assistantScript },
  },
  async ({ runtime, renderer, watch, recorder }) => {
    const executor = runtime.createExecutor();
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: runtime.llmConfig('assistant'),
      systemMessage:
        'You are a data assistant. The user runs your Python in a sandbox whose interpreter keeps variables between messages. Work in the steps the task asks for, one ```python block per reply. If the output says the sandbox was restarted, the earlier state is gone: rebuild it. When done, give the answer with its numbers and reply TERMINATE.',
      renderer,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      maxConsecutiveAutoReply: 6,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      codeExecutionConfig: { executor },
      renderer,
    });
    watch(assistant, user);

    // The fault: before the second piece of code runs, kill the sandbox behind the executor's back.
    let codeMessages = 0;
    let killed = false;
    user.registerReply(
      [AssistantAgent],
      async ({ messages }) => {
        if (!contentToString(messages.at(-1)?.content).includes('```')) return { final: false };
        codeMessages += 1;
        const sandboxId = executor.sandboxId;
        if (codeMessages === 2 && !killed && sandboxId !== undefined) {
          killed = true;
          const { baseURL, apiKey } = runtime.sandboxEndpoint;
          const response = await fetch(`${baseURL}/v1/sandboxes/${sandboxId}`, {
            method: 'DELETE',
            headers: { 'X-API-Key': apiKey, Authorization: `Bearer ${apiKey}` },
          });
          recorder.note(
            'sandbox-killed',
            `Fault injected: sandbox ${sandboxId} was killed (HTTP ${response.status}) while the chat was running.`,
          );
          renderer.notice(
            `\n>>>>>>>> FAULT INJECTED: sandbox ${sandboxId} killed (HTTP ${response.status}).`,
            'warning',
          );
        }
        return { final: false };
      },
      { name: 'killSandboxOnce' },
    );
    executor.on('code-execution-end', ({ sandboxRestarted, sandboxId }) => {
      if (!sandboxRestarted) return;
      recorder.note(
        'sandbox-restarted',
        `Recovery: the executor replaced the dead sandbox with a fresh one (${sandboxId}); variables and files from before were lost, and the output says so.`,
      );
    });

    recorder.beginChat('user → assistant');
    const result = await user.initiateChat(assistant, { message: task });
    recorder.endChat(result);

    const outputs = result.chatHistory.map((message) => contentToString(message.content));
    const problems: string[] = [];
    if (!killed) problems.push('The sandbox was never killed, so nothing was demonstrated.');
    if (!outputs.some((output) => output.includes(SANDBOX_RESTARTED_NOTICE)))
      problems.push('The transcript does not say that the sandbox was restarted.');
    if (!outputs.at(-2)?.startsWith('exitcode: 0'))
      problems.push('The chat did not end with a successful run after the restart.');
    if (result.terminationReason !== 'termination-message')
      problems.push(`The chat ended with ${result.terminationReason}.`);
    return { problems };
  },
);
