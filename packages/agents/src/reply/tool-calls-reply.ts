import { executeToolCalls } from '../tools/execute-tool-calls.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';

/** The tool step of the reply pipeline: runs the tool calls of the last message and replies with the answers. */
export async function generateToolCallsReply({ agent, messages }: ReplyContext): Promise<ReplyResult> {
  const message = messages.at(-1);
  if (!message?.tool_calls?.length) return { final: false };
  return { final: true, reply: await executeToolCalls(agent.functionMap, message.tool_calls) };
}
