import { randomUUID } from 'node:crypto';
import type { ConversableAgent } from '../conversable-agent.js';
import type { InterruptedStep, RunJournal } from '../durable/run-journal.js';
import type { JsonValue } from '../durable/run-store.js';
import type { TerminationReason } from './chat-result.js';
import type { RunBudget } from './run-budget.js';

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
  /** How many numbers a seeded `'random'` selection drew so far in this run. */
  randomDraws: number;
}

/** A person's decision on an approval request. */
export interface ApprovalDecision {
  /** Whether the side effect may run. */
  approved: boolean;
  /** Why it was rejected; the model receives it as the result. */
  reason?: string;
}

/** Options of {@link ChatRun}. */
export interface ChatRunOptions {
  /** Stops the conversation cleanly between turns and aborts model calls and code runs. @default the parent's signal */
  signal?: AbortSignal;
  /** The run this one was started from (a nested chat, a speaker selection). @default none */
  parent?: ChatRun;
  /** The run's id. @default a random UUID */
  id?: string;
  /** The durable log the run writes to. @default the parent's, or none (nothing is stored) */
  journal?: RunJournal;
  /** What the run may spend, checked before every model call. @default the parent's budget */
  budget?: RunBudget;
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
  /** What the conversation may spend, if it has limits (its own or its parent's); set before it starts. */
  budget: RunBudget | undefined;
  /** Every answer a human gave in this conversation, in order. */
  readonly humanInput: string[] = [];
  readonly #autoReplies = new Map<string, number>();
  readonly #endings = new Map<string, ChatEnding>();
  readonly #groupChats = new Map<string, GroupChatProgress>();
  /** Where this run sits under the root run (`r`, `r.3`, `r.3.1`...): the prefix of its step ids. */
  readonly path: string;
  /** The durable log, when the run is stored. */
  readonly journal: RunJournal | undefined;
  #ordinal = 0;
  #children = 0;
  readonly #messageIds = new Map<string, string>();

  constructor(options: ChatRunOptions = {}) {
    this.id = options.id ?? randomUUID();
    this.parent = options.parent;
    this.signal = options.signal ?? options.parent?.signal;
    this.budget = options.budget ?? options.parent?.budget;
    this.journal = options.journal ?? options.parent?.journal;
    this.path = options.parent ? `${options.parent.path}.${options.parent.#nextChild()}` : 'r';
  }

  #nextChild(): number {
    this.#children += 1;
    return this.#children;
  }

  /** A run for a chat started from this one (nested chats, speaker selection): shares the signal and the log. */
  child(options: { signal?: AbortSignal } = {}): ChatRun {
    return new ChatRun({ ...options, parent: this });
  }

  /** The next step id of this run. The same path through the conversation gives the same ids. */
  nextKey(): string {
    this.#ordinal += 1;
    return `${this.path}:${this.#ordinal}`;
  }

  /** Writes an event to the durable log, if the run has one. */
  async record(type: string, data: { [key: string]: JsonValue }): Promise<string> {
    const key = this.nextKey();
    // After an abort nothing more is written: the log ends where the run stopped, so it can resume.
    if (this.journal && !this.aborted) await this.journal.record(key, type, data);
    return key;
  }

  /**
   * Runs a side effect as a step: without a durable log it just runs; with one it runs at most once
   * per step id (see `RunJournal.step`). `execute` gets the step id and the key of this try, which
   * names what the try streams to the log.
   */
  async step<T extends JsonValue>(
    kind: string,
    data: { [key: string]: JsonValue },
    execute: (stepId: string, attemptKey: string) => Promise<T>,
    interrupted: InterruptedStep<T>,
    nothingRan?: (error: unknown) => boolean,
  ): Promise<T> {
    const key = this.nextKey();
    if (!this.journal || this.aborted) return execute(key, key);
    return this.journal.step(
      key,
      kind,
      data,
      (attemptKey) => execute(key, attemptKey),
      interrupted,
      nothingRan,
    );
  }

  /** Asks for approval of a side effect when the durable run's policy says so; approves otherwise. */
  async approve(
    kind: 'code-execution' | 'tool-call',
    agent: ConversableAgent,
    data: { [key: string]: JsonValue },
  ): Promise<ApprovalDecision> {
    const journal = this.journal;
    const needed = kind === 'code-execution' ? journal?.approval.codeExecution : journal?.approval.toolCalls;
    if (!journal || !needed) return { approved: true };
    const answer = await journal.request(
      this.nextKey(),
      'approval',
      { kind, agent: agent.name, ...data },
      this.signal ? { signal: this.signal } : {},
    );
    return answer['approved'] === true
      ? { approved: true }
      : { approved: false, reason: String(answer['reason'] ?? 'Rejected.') };
  }

  /** Remembers that `agent`'s next message is the one a model call (`stepId`) builds, for `messageId`. */
  setNextMessageId(agent: ConversableAgent, stepId: string): void {
    this.#messageIds.set(agent.name, stepId);
  }

  /** Takes the id set by {@link setNextMessageId} for `agent`'s message, if any. */
  takeMessageId(agent: ConversableAgent): string | undefined {
    const id = this.#messageIds.get(agent.name);
    this.#messageIds.delete(agent.name);
    return id;
  }

  /** The run's counters, endings, human input and group progress as plain JSON (for snapshots and UIs). */
  toJSON(): { [key: string]: JsonValue } {
    return {
      path: this.path,
      autoReplies: Object.fromEntries(this.#autoReplies),
      endings: Object.fromEntries(
        [...this.#endings].map(([key, ending]) => [key, { ...ending } as { [key: string]: JsonValue }]),
      ),
      humanInput: [...this.humanInput],
      groupChats: Object.fromEntries(
        [...this.#groupChats].map(([name, progress]) => [
          name,
          {
            round: progress.round,
            lastSpeaker: progress.lastSpeaker ?? null,
            randomDraws: progress.randomDraws,
          },
        ]),
      ),
    };
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
      progress = { round: 0, lastSpeaker: undefined, randomDraws: 0 };
      this.#groupChats.set(manager.name, progress);
    }
    return progress;
  }

  /** Asks a human through `agent`'s provider, announces it with `human-input-requested`, and keeps the answer. */
  async askHuman(agent: ConversableAgent, prompt: string, options: AskHumanOptions = {}): Promise<string> {
    const { sender, record = true } = options;
    agent.emit('human-input-requested', { agent, prompt, ...(sender ? { sender } : {}) });
    const journal = this.journal;
    // A durable run asks through a stored request, which any process can answer, now or after a restart.
    const answer = journal
      ? String(
          (
            await journal.request(
              this.nextKey(),
              'human-input',
              { agent: agent.name, prompt, sender: sender?.name ?? null },
              { ...journal.humanInputOptions, ...(this.signal ? { signal: this.signal } : {}) },
            )
          )['text'] ?? '',
        )
      : await agent.humanInput.getInput(prompt);
    if (record) this.humanInput.push(answer);
    return answer;
  }
}
