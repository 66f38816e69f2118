import type { ApprovalDecision } from '../chats/chat-run.js';
import type { JsonValue } from '../durable/run-store.js';
import type { Message } from '../message.js';
import { executeToolCalls } from '../tools/execute-tool-calls.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';

/**
 * The tool step of the reply pipeline: runs the tool calls of the last message and replies with the
 * answers. In a durable run each call is a step (a resumed run reuses a stored answer and calls again
 * a tool that never answered), and with an approval policy each call waits for a person first; a
 * rejected call answers the model with the reason.
 */
export async function generateToolCallsReply({ agent, messages, run }: ReplyContext): Promise<ReplyResult> {
  const message = messages.at(-1);
  if (!message?.tool_calls?.length) return { final: false };
  const toolCalls = message.tool_calls;
  // Approvals are asked one by one, so their step ids do not depend on who answers first.
  const decisions: ApprovalDecision[] = [];
  for (const call of toolCalls) {
    decisions.push(
      await run.approve('tool-call', agent, {
        toolCallId: call.id ?? null,
        name: call.function?.name ?? '',
        arguments: call.function?.arguments ?? '',
      }),
    );
  }
  const responses = await Promise.all(
    toolCalls.map((call, index) => {
      const decision = decisions[index]!;
      if (!decision.approved) {
        const rejected: Message = { role: 'tool', content: decision.reason ?? 'Rejected.' };
        if (call.id) rejected.tool_call_id = call.id;
        return rejected;
      }
      return run.step(
        'tool-call',
        { agent: agent.name, toolCallId: call.id ?? null, name: call.function?.name ?? '' },
        async () => {
          const answer = await executeToolCalls(agent.functionMap, [call]);
          return answer.tool_responses?.[0] as unknown as JsonValue;
        },
        'repeat',
      ) as Promise<unknown> as Promise<Message>;
    }),
  );
  return {
    final: true,
    reply: {
      role: 'tool',
      content: responses.map((response) => response.content as string).join('\n\n'),
      tool_responses: responses,
    },
  };
}
