import { AssistantAgent, definePipeline, defineTool, registerFunction, UserProxyAgent } from '@hopgen/agents';
import { z } from 'zod';

/** Tool calls of the `tool-team` pipeline that really ran, by the `a` and `b` they added. */
export const toolCallsRun: Array<{ a: number; b: number }> = [];

/**
 * A user that asks a person after every reply, and an assistant whose model is the scripted
 * OpenAI-compatible server at `modelBaseUrl` (streaming unless `stream: false`, so the run has text deltas). With
 * `withTool`, the assistant may call `add`, which the user executes.
 */
export function askingTeam(
  modelBaseUrl: string,
  options: { name: string; withTool?: boolean; stream?: boolean },
) {
  return definePipeline({
    name: options.name,
    input: z.object({ task: z.string().min(1) }),
    build: ({ task }) => {
      const assistant = new AssistantAgent({
        name: 'assistant',
        llmConfig: {
          configList: [{ model: 'gpt-4o-mini', baseURL: modelBaseUrl, apiKey: 'sk-test' }],
          stream: options.stream ?? true,
          cacheSeed: null,
        },
        silent: true,
      });
      const user = new UserProxyAgent({
        name: 'user',
        humanInputMode: 'ALWAYS',
        codeExecutionConfig: false,
        silent: true,
      });
      if (options.withTool) {
        registerFunction(
          defineTool({
            name: 'add',
            description: 'Adds two numbers.',
            parameters: z.object({ a: z.number(), b: z.number() }),
            execute: ({ a, b }) => {
              toolCallsRun.push({ a, b });
              return String(a + b);
            },
          }),
          { caller: assistant, executor: user },
        );
      }
      return { agents: [user, assistant], chat: { sender: user, recipient: assistant, message: task } };
    },
  });
}
