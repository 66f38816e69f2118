// The pipelines the worker tests' processes register: three chats with carryover, each running one
// Python block in a HopX sandbox (HOPX_BASE_URL and HOPX_API_KEY name the test's local sandbox
// server) against the test's scripted model server (HOPGEN_TEST_MODEL_URL).
import { AssistantAgent, definePipeline, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { z } from 'zod';

export const pipelines = [
  definePipeline({
    name: 'three-chats',
    input: z.object({ job: z.number().int() }),
    build: ({ job }) => {
      const coder = new AssistantAgent({
        name: 'coder',
        llmConfig: {
          configList: [
            { model: 'gpt-4o-mini', apiKey: 'test-key', baseURL: process.env.HOPGEN_TEST_MODEL_URL },
          ],
          cacheSeed: null,
          maxRetries: 0,
        },
        silent: true,
      });
      const user = new UserProxyAgent({
        name: 'user',
        humanInputMode: 'NEVER',
        // A short time to live: a sandbox whose creation a SIGKILL cut short is known to nobody,
        // and the server removes it 20 s after its creation.
        codeExecutionConfig: { executor: new HopXCodeExecutor({ timeoutMs: 60_000, sandboxTtlMs: 20_000 }) },
        isTerminationMsg: (message) => String(message.content ?? '').includes('TERMINATE'),
        silent: true,
      });
      return {
        agents: [coder, user],
        chats: [1, 2, 3].map((chat) => ({
          sender: user,
          recipient: coder,
          message: `job ${job} chat ${chat}`,
          summaryMethod: 'last_msg' as const,
          maxTurns: 6,
        })),
      };
    },
  }),
];
