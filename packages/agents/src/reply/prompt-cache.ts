import type { ConversableAgent } from '../conversable-agent.js';
import { type Message, toModelMessages } from '../message.js';
import { limitPromptImages } from '../model-clients/prompt-images.js';

/** The prompt built for one conversation array, kept so the next turn only appends the new messages. */
interface CachedPrompt {
  /** The system message, then the conversation in model form. */
  prompt: Message[];
  /** How many messages of the conversation the prompt holds. */
  sourceLength: number;
  /** The conversation's first and last message when the prompt was built: a cleared or edited history no longer has them. */
  firstSource: Message | undefined;
  lastSource: Message | undefined;
  /** Image parts in the prompt: above the limit, older ones must be dropped, which changes earlier messages. */
  imageParts: number;
}

const cachedPrompts = new WeakMap<ConversableAgent, WeakMap<readonly Message[], CachedPrompt>>();

/** The prompt as it was always built: the system message, then the whole conversation in model form. */
export function buildPromptFromScratch(
  systemMessage: string,
  messages: readonly Message[],
  maxImages: number,
): Message[] {
  return [
    { role: 'system', content: systemMessage },
    ...limitPromptImages(toModelMessages(messages), maxImages),
  ];
}

/**
 * The prompt for `messages`, equal to {@link buildPromptFromScratch} but extended by the messages
 * added since the agent's last call on the same conversation, so a turn costs the same at message
 * 10,000 as at message 10. The array is the agent's and grows on later turns: a client that keeps a
 * request after answering must copy its messages (`ScriptedModelClient` does).
 */
export function promptFor(
  agent: ConversableAgent,
  messages: readonly Message[],
  maxImages: number,
): Message[] {
  let byConversation = cachedPrompts.get(agent);
  if (byConversation === undefined) {
    byConversation = new WeakMap();
    cachedPrompts.set(agent, byConversation);
  }
  let cached = byConversation.get(messages);
  if (
    cached === undefined ||
    cached.sourceLength > messages.length ||
    cached.firstSource !== messages[0] ||
    cached.lastSource !== messages[cached.sourceLength - 1]
  ) {
    cached = {
      prompt: [{ role: 'system', content: agent.systemMessage }],
      sourceLength: 0,
      firstSource: undefined,
      lastSource: undefined,
      imageParts: 0,
    };
    byConversation.set(messages, cached);
  }
  if (cached.prompt[0]!.content !== agent.systemMessage) {
    cached.prompt[0] = { role: 'system', content: agent.systemMessage };
  }
  if (cached.sourceLength < messages.length) {
    for (const message of toModelMessages(messages.slice(cached.sourceLength))) {
      cached.imageParts += imagePartsOf(message);
      cached.prompt.push(message);
    }
    cached.sourceLength = messages.length;
    cached.firstSource = messages[0];
    cached.lastSource = messages[messages.length - 1];
  }
  // Past the limit, older images turn into text: that rewrites earlier messages, so build afresh.
  if (cached.imageParts > maxImages) return buildPromptFromScratch(agent.systemMessage, messages, maxImages);
  return cached.prompt;
}

function imagePartsOf(message: Message): number {
  if (!Array.isArray(message.content)) return 0;
  let count = 0;
  for (const part of message.content) if (part.type === 'image_url') count += 1;
  return count;
}
