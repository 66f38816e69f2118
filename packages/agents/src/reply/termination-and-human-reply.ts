import type { TerminationReason } from '../chats/chat-result.js';
import type { MessageInput } from '../message.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';

/**
 * The first step of the reply pipeline (AutoGen's `check_termination_and_human_reply`): asks a
 * human when `humanInputMode` says so, ends the conversation on a termination message, `exit`, or
 * when the agent reached `maxConsecutiveAutoReply` replies in a row to this sender. Counts and
 * endings are kept in the run, never on the agents.
 */
export async function checkTerminationAndHumanReply({
  agent,
  messages,
  sender,
  run,
}: ReplyContext): Promise<ReplyResult> {
  const message = messages.at(-1) ?? { role: 'user', content: '' };
  const senderName = sender?.name ?? 'the sender';
  const counter = run.autoReplyCount(agent, sender);
  const limit = agent.maxConsecutiveAutoReply(sender);
  const silent = agent.silent === true;
  const ask = (prompt: string) => run.askHuman(agent, prompt, sender ? { sender } : {});
  let reply = '';
  let noHumanInput = false;
  let exitReason: TerminationReason = 'human-exit';
  if (agent.humanInputMode === 'ALWAYS') {
    reply = await ask(
      `Replying as ${agent.name}. Provide feedback to ${senderName}. Press enter to skip and use auto-reply, or type 'exit' to end the conversation: `,
    );
    noHumanInput = reply === '';
    if (!reply && agent.isTerminationMsg(message)) {
      reply = 'exit';
      exitReason = 'termination-message';
    }
  } else if (counter >= limit) {
    exitReason = 'max-consecutive-auto-reply';
    if (agent.humanInputMode === 'NEVER') {
      reply = 'exit';
    } else {
      const terminate = agent.isTerminationMsg(message);
      reply = await ask(
        terminate
          ? `Please give feedback to ${senderName}. Press enter or type 'exit' to stop the conversation: `
          : `Please give feedback to ${senderName}. Press enter to skip and use auto-reply, or type 'exit' to stop the conversation: `,
      );
      noHumanInput = reply === '';
      if (!reply && terminate) reply = 'exit';
      else if (reply === 'exit') exitReason = 'human-exit';
    }
  } else if (agent.isTerminationMsg(message)) {
    exitReason = 'termination-message';
    if (agent.humanInputMode === 'NEVER') {
      reply = 'exit';
    } else {
      reply = await ask(
        `Please give feedback to ${senderName}. Press enter or type 'exit' to stop the conversation: `,
      );
      noHumanInput = reply === '';
      if (reply === 'exit') exitReason = 'human-exit';
      reply = reply || 'exit';
    }
  }
  if (noHumanInput && !silent) agent.renderer.notice('\n>>>>>>>> NO HUMAN INPUT RECEIVED.');
  if (reply === 'exit') {
    run.setAutoReplyCount(agent, sender, 0);
    run.recordEnding(agent, sender, { reason: exitReason });
    return { final: true, reply: null };
  }
  if (reply || limit === 0) {
    run.setAutoReplyCount(agent, sender, 0);
    const response: MessageInput = { role: 'user', content: reply };
    if (message.tool_calls?.length) {
      response.tool_responses = message.tool_calls.map((call) => ({
        role: 'tool' as const,
        tool_call_id: call.id,
        content: 'USER INTERRUPTED',
      }));
    }
    return { final: true, reply: response };
  }
  run.setAutoReplyCount(agent, sender, counter + 1);
  if (agent.humanInputMode !== 'NEVER' && !silent) agent.renderer.notice('\n>>>>>>>> USING AUTO REPLY...');
  return { final: false };
}
