import { InvalidCarryoverError } from '../errors.js';
import { contentToString, type Message, type MessageInput } from '../message.js';

/**
 * Appends carryover to a chat's first message as AutoGen does: `"\nContext: \n"` and the items
 * joined by newlines (multimodal content gets it as a leading text part). Empty carryover leaves
 * the message unchanged; anything but a string or an array throws {@link InvalidCarryoverError}.
 */
export function appendCarryover(message: MessageInput, carryover: unknown): MessageInput {
  if (carryover === undefined || carryover === null || carryover === '') return message;
  const items = carryoverItems(carryover);
  if (items.length === 0) return message;
  const context = `\nContext: \n${items.join('\n')}`;
  if (typeof message === 'string') return message + context;
  if (Array.isArray(message.content)) {
    return { ...message, content: [{ type: 'text', text: context }, ...message.content] };
  }
  return { ...message, content: `${contentToString(message.content ?? '')}${context}` };
}

/** One carryover item as text: a string as it is, a message by its content. */
export function carryoverItemText(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object' && 'content' in item)
    return contentToString((item as Message).content);
  return String(item);
}

function carryoverItems(carryover: unknown): string[] {
  if (typeof carryover === 'string') return [carryover];
  if (Array.isArray(carryover)) return carryover.map(carryoverItemText);
  throw new InvalidCarryoverError(
    'Carryover should be a string or a list of strings. Pass carryover: "text" or carryover: ["one", "two"].',
  );
}
