import type { ConversableAgent } from '../conversable-agent.js';
import { InvalidOptionError, SenderRequiredError } from '../errors.js';

/**
 * Decides which senders a reply function answers (AutoGen's trigger):
 * `null` matches calls without a sender; a string matches the sender's name; an agent class
 * matches its instances; an agent instance matches itself; a predicate decides; an array matches
 * when any item does.
 */
export type ReplyTrigger =
  | null
  | string
  | ConversableAgent
  | (abstract new (
      ...args: any[]
    ) => ConversableAgent)
  | ((sender: ConversableAgent) => boolean)
  | readonly ReplyTrigger[];

/** Checks a trigger when it is registered, so a wrong one fails early with a clear message. */
export function validateTrigger(
  trigger: unknown,
  agentClass: abstract new (...args: any[]) => unknown,
): void {
  if (trigger === null || typeof trigger === 'string' || typeof trigger === 'function') return;
  if (trigger instanceof agentClass) return;
  if (Array.isArray(trigger)) {
    for (const item of trigger) validateTrigger(item, agentClass);
    return;
  }
  throw new InvalidOptionError(
    'trigger must be a class, a string, an agent, a callable or a list. Pass an agent, its name, an agent class, a predicate (sender) => boolean, null, or an array of these.',
  );
}

/** Whether `trigger` matches `sender`. */
export function matchTrigger(
  trigger: ReplyTrigger,
  sender: ConversableAgent | undefined,
  agentClass: abstract new (...args: any[]) => ConversableAgent,
): boolean {
  if (trigger === null) return sender === undefined;
  if (typeof trigger === 'string') {
    if (sender === undefined) throw new SenderRequiredError();
    return sender.name === trigger;
  }
  if (Array.isArray(trigger)) return trigger.some((item) => matchTrigger(item, sender, agentClass));
  if (typeof trigger === 'function') {
    if (trigger === agentClass || trigger.prototype instanceof agentClass) {
      return (
        sender !== undefined &&
        sender instanceof (trigger as abstract new (...args: any[]) => ConversableAgent)
      );
    }
    return sender !== undefined && (trigger as (sender: ConversableAgent) => boolean)(sender) === true;
  }
  return trigger === sender;
}
