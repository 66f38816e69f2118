import { randomUUID } from 'node:crypto';
import type { ConversableAgent } from '../conversable-agent.js';
import type { TerminationReason } from './chat-result.js';

/** How and why one agent ended its side of a conversation. */
export interface ChatEnding {
  /** Why the conversation ended. */
  reason: TerminationReason;
  /** A sentence for people. */
  detail?: string;
}

/** Where a group chat run stands: read and advanced by `GroupChatManager.runChat`. */
export interface GroupChatProgress {
  /** Rounds done so far in this run (the first message is round 1). */
  round: number;
  /** Name of the agent that spoke last. */
  lastSpeaker: string | undefined;
}

/** Options of {@link ChatRun}. */
export interface ChatRunOptions {
  /** Stops the conversation cleanly between turns and aborts model calls and code runs. @default the parent's signal */
  signal?: AbortSignal;
  /** The run this one was started from (a nested chat, a speaker selection). @default none */
  parent?: ChatRun;
  /** The run's id. @default a random UUID */
  id?: string;
}

/** Options of {@link ChatRun.askHuman}. */
export interface AskHumanOptions {
  /** The partner the answer is for, when there is one. */
  sender?: ConversableAgent;
  /** Whether the answer goes into `ChatResult.humanInput`. @default true */
  record?: boolean;
}

function pairKey(agent: ConversableAgent, partner: ConversableAgent | undefined): string {
  return JSON.stringify([agent.name, partner?.name ?? null]);
}

/**
 * One conversation, as a value: everything the conversation changes while it runs (its signal,
 * each agent's consecutive auto replies to each partner, how each side ended, what humans
 * answered, group-chat progress). Agents keep only their configuration and message histories, so
 * two conversations of the same agents never see each other's state. `initiateChat` creates one;
 * reply functions receive it as `context.run`.
 */
export class ChatRun {
  /** The run's id. */
  readonly id: string;
  /** The run this one was started from, if any. */
  readonly parent: ChatRun | undefined;
  /** The abort signal of the conversation, if any. */
  readonly signal: AbortSignal | undefined;
  /** Every answer a human gave in this conversation, in order. */
  readonly humanInput: string[] = [];
  readonly #autoReplies = new Map<string, number>();
  readonly #endings = new Map<string, ChatEnding>();
  readonly #groupChats = new Map<string, GroupChatProgress>();

  constructor(options: ChatRunOptions = {}) {
    this.id = options.id ?? randomUUID();
    this.parent = options.parent;
    this.signal = options.signal ?? options.parent?.signal;
  }

  /** Whether the conversation's signal was aborted. */
  get aborted(): boolean {
    return this.signal?.aborted === true;
  }

  /** How many replies in a row `agent` made to `partner` without a human. */
  autoReplyCount(agent: ConversableAgent, partner: ConversableAgent | undefined): number {
    return this.#autoReplies.get(pairKey(agent, partner)) ?? 0;
  }

  /** Sets the consecutive auto-reply count of `agent` towards `partner`. */
  setAutoReplyCount(agent: ConversableAgent, partner: ConversableAgent | undefined, count: number): void {
    this.#autoReplies.set(pairKey(agent, partner), count);
  }

  /** Records that `agent` ended its conversation with `partner`, and why. */
  recordEnding(agent: ConversableAgent, partner: ConversableAgent | undefined, ending: ChatEnding): void {
    this.#endings.set(pairKey(agent, partner), ending);
  }

  /** How `agent` ended its conversation with `partner` in this run, if it did. */
  endingOf(agent: ConversableAgent, partner: ConversableAgent | undefined): ChatEnding | undefined {
    return this.#endings.get(pairKey(agent, partner));
  }

  /** Forgets the ending of `agent` towards `partner`, before it takes another turn. */
  clearEnding(agent: ConversableAgent, partner: ConversableAgent | undefined): void {
    this.#endings.delete(pairKey(agent, partner));
  }

  /** The progress of the group chat `manager` runs in this conversation. */
  groupChat(manager: ConversableAgent): GroupChatProgress {
    let progress = this.#groupChats.get(manager.name);
    if (progress === undefined) {
      progress = { round: 0, lastSpeaker: undefined };
      this.#groupChats.set(manager.name, progress);
    }
    return progress;
  }

  /** Asks a human through `agent`'s provider, announces it with `human-input-requested`, and keeps the answer. */
  async askHuman(agent: ConversableAgent, prompt: string, options: AskHumanOptions = {}): Promise<string> {
    const { sender, record = true } = options;
    agent.emit('human-input-requested', { agent, prompt, ...(sender ? { sender } : {}) });
    const answer = await agent.humanInput.getInput(prompt);
    if (record) this.humanInput.push(answer);
    return answer;
  }
}
