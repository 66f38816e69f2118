import type { ConversableAgent } from '../conversable-agent.js';
import type { MessageInput } from '../message.js';
import type { GroupChat } from './group-chat.js';

const isDigits = (text: string) => /^\d+$/.test(text);

/**
 * Handles a `clear history [agent] [N]` command in a reply (AutoGen's `clear_agents_history`, only
 * when `enableClearHistory` is set): clears the named agent's history, or every member's and the
 * group transcript, keeping the last N messages when N is given, and returns the reply with the
 * command cut out. Unlike AutoGen, plain-text replies are handled too, and a reply that merely
 * contains the phrase inside a word (`unclear history`) is left alone instead of raising.
 */
export function clearAgentsHistory(
  reply: MessageInput,
  groupchat: GroupChat,
  manager: ConversableAgent,
): MessageInput {
  const content = typeof reply === 'string' ? reply : reply.content;
  if (typeof content !== 'string' || !content.toUpperCase().includes('CLEAR HISTORY')) return reply;
  const words = content.split(/\s+/).filter((word) => word.length > 0);
  let clearIndex = -1;
  for (let i = words.length - 1; i >= 0; i--) {
    if (words[i]!.toUpperCase() === 'CLEAR') {
      clearIndex = i;
      break;
    }
  }
  if (clearIndex < 0) return reply;
  let preserve: number | undefined;
  let preserveGiven = false;
  let target: ConversableAgent | undefined;
  for (const word of words.slice(clearIndex + 2, clearIndex + 4)) {
    if (isDigits(word)) {
      preserve = Number.parseInt(word, 10);
      preserveGiven = true;
    } else if (isDigits(word.slice(0, -1))) {
      // A number followed by a dot or other sign.
      preserve = Number.parseInt(word.slice(0, -1), 10);
      preserveGiven = true;
    } else {
      const found = groupchat.agents.find((agent) => agent.name === word || agent.name === word.slice(0, -1));
      if (found) target = found;
    }
  }
  const print = (text: string) => manager.renderer.notice(text);
  if (typeof reply !== 'string' && reply.tool_responses && !preserve) {
    preserve = 1;
    print(
      'The last tool call message will be saved to prevent errors caused by tool response without tool call.',
    );
  }
  const options = preserve ? { preserve } : {};
  if (target) {
    print(
      preserve
        ? `Clearing history for ${target.name} except last ${preserve} messages.`
        : `Clearing history for ${target.name}.`,
    );
    target.clearHistory(undefined, options);
  } else {
    if (preserve) {
      print(`Clearing history for all agents except last ${preserve} messages.`);
      groupchat.messages.splice(0, Math.max(0, groupchat.messages.length - preserve));
    } else {
      print('Clearing history for all agents.');
      groupchat.reset();
    }
    for (const agent of groupchat.agents) agent.clearHistory(undefined, options);
  }
  const skip = 2 + (target ? 1 : 0) + (preserveGiven ? 1 : 0);
  const rest = [...words.slice(0, clearIndex), ...words.slice(clearIndex + skip)].join(' ');
  return typeof reply === 'string' ? rest : { ...reply, content: rest };
}
