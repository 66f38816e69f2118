// The pipeline the workers bench runs in `hopgen worker` processes: three chats with carryover, one
// model answer each, no code (so the figures are the queue's, the store's and the workers', not a
// sandbox's). The model is the bench's scripted server, HOPGEN_BENCH_MODEL_URL.
import { AssistantAgent, definePipeline, UserProxyAgent } from '@hopgen/agents';
import { z } from 'zod';

export const pipelines = [
  definePipeline({
    name: 'bench-chats',
    input: z.object({ name: z.string() }),
    build: ({ name }) => {
      const assistant = new AssistantAgent({
        name: 'assistant',
        llmConfig: {
          configList: [
            { model: 'gpt-4o-mini', apiKey: 'bench-key', baseURL: process.env.HOPGEN_BENCH_MODEL_URL },
          ],
          cacheSeed: null,
          maxRetries: 0,
        },
        silent: true,
      });
      const user = new UserProxyAgent({
        name: 'user',
        humanInputMode: 'NEVER',
        codeExecutionConfig: false,
        silent: true,
      });
      return {
        agents: [assistant, user],
        chats: [1, 2, 3].map((chat) => ({
          sender: user,
          recipient: assistant,
          message: `bench ${name} chat ${chat}`,
          maxTurns: 1,
          summaryMethod: 'last_msg' as const,
        })),
      };
    },
  }),
];
