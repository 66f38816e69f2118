import type { ContentPart, Message } from '../message.js';

/** What an image dropped from the prompt becomes: AutoGen's text form of an image. */
const DROPPED_IMAGE: ContentPart = { type: 'text', text: '<image>' };

/**
 * Keeps the newest `maxImages` image parts of a prompt and turns older ones into `<image>` text, so a
 * long chat does not resend every chart. Only the prompt changes: messages with images are copied,
 * the transcript keeps them all.
 */
export function limitPromptImages(messages: readonly Message[], maxImages: number): Message[] {
  let kept = 0;
  const limited = [...messages];
  for (let index = limited.length - 1; index >= 0; index -= 1) {
    const message = limited[index]!;
    if (!Array.isArray(message.content) || !message.content.some((part) => part.type === 'image_url'))
      continue;
    const parts = [...message.content];
    for (let partIndex = parts.length - 1; partIndex >= 0; partIndex -= 1) {
      if (parts[partIndex]!.type !== 'image_url') continue;
      if (kept < maxImages) kept += 1;
      else parts[partIndex] = DROPPED_IMAGE;
    }
    limited[index] = { ...message, content: parts };
  }
  return limited;
}
