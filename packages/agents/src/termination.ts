import { contentToString, type Message } from './message.js';

const TERMINATE = 'TERMINATE';

/** AutoGen's default termination test: the message's whole text is `TERMINATE`. */
export function isTerminateMessage(message: Message): boolean {
  return contentToString(message.content) === TERMINATE;
}

/** True when the message's text contains `TERMINATE` anywhere; use it as `isTerminationMsg` for chatty models. */
export function includesTerminate(message: Message): boolean {
  return contentToString(message.content).includes(TERMINATE);
}

/** The text without its `TERMINATE` markers, as AutoGen's summaries and answers show it. */
export function withoutTerminate(text: string): string {
  return text.replaceAll(TERMINATE, '');
}
