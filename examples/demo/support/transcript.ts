import { basename } from 'node:path';
import {
  type ConversableAgent,
  contentToString,
  gatherUsageSummary,
  type Message,
  type UsageReport,
} from '@hopgen/agents';
import type { RuntimeChoice } from './choose-runtime.js';

/** One message of the conversation, as `transcript.json` stores it. */
export interface TranscriptMessage {
  /** Position in the transcript, from 0. */
  index: number;
  /** Milliseconds since the run started. */
  atMs: number;
  /** Which chat of the run it belongs to (sequential chats count from 0). */
  chat: number;
  sender: string;
  recipient: string;
  message: Message;
  /** When the message reports a code run: how it went. */
  execution?: { exitCode: number; durationMs: number; languages: string[] };
  /** Images the code run produced, as file names inside the run directory. */
  images?: string[];
}

/** Something that happened besides a message (speaker picked, code run, sandbox restarted, a note). */
export interface TranscriptEvent {
  /** Milliseconds since the run started. */
  atMs: number;
  type: string;
  /** Who it concerns, when an agent. */
  agent?: string;
  /** Human-readable detail. */
  detail: string;
}

/** A chat of the run (an example runs one, or several in sequence). */
export interface TranscriptChat {
  index: number;
  title: string;
  startedAtMs: number;
  terminationReason?: string;
  summary?: string;
}

/** The whole run: what `transcript.json` holds and `report.html` shows. */
export interface Transcript {
  runId: string;
  title: string;
  task: string;
  startedAt: string;
  durationMs: number;
  runtime: RuntimeChoice;
  outcome: 'succeeded' | 'failed';
  /** Why the run failed, in sentences. */
  problems: string[];
  chats: TranscriptChat[];
  messages: TranscriptMessage[];
  events: TranscriptEvent[];
  /** Tokens and cost of every agent's model client (AutoGen's two summaries). */
  usage: UsageReport;
  /** Files of the run directory (images and any downloaded files), by name. */
  files: string[];
  /** The charts of the run, by file name: images the code displayed, else chart files downloaded from the sandbox. */
  charts: string[];
}

/**
 * Records a run from the agents' events: every message with its time, code runs with their exit codes
 * and images, speaker choices, terminations, and notes the example adds.
 */
export class TranscriptRecorder {
  readonly #startedAt = Date.now();
  readonly #started = performance.now();
  readonly #messages: TranscriptMessage[] = [];
  readonly #events: TranscriptEvent[] = [];
  readonly #chats: TranscriptChat[] = [];
  readonly #files = new Set<string>();
  readonly #charts: string[] = [];
  readonly #agents = new Set<ConversableAgent>();
  // Code results and images wait here until the agent that produced them sends its next message.
  readonly #pendingExecutions = new Map<ConversableAgent, NonNullable<TranscriptMessage['execution']>>();
  readonly #pendingImages = new Map<ConversableAgent, string[]>();

  /** Milliseconds since the run started. */
  get elapsedMs(): number {
    return Math.round(performance.now() - this.#started);
  }

  /** The agents watched so far. */
  get agents(): ConversableAgent[] {
    return [...this.#agents];
  }

  /** Marks the start of a (new) chat; messages after it belong to it. */
  beginChat(title: string): void {
    this.#chats.push({ index: this.#chats.length, title, startedAtMs: this.elapsedMs });
  }

  /** Records how the current chat ended. */
  endChat(result: { terminationReason?: string; summary?: string }): void {
    const chat = this.#chats.at(-1);
    if (chat === undefined) return;
    if (result.terminationReason !== undefined) chat.terminationReason = result.terminationReason;
    if (result.summary !== undefined) chat.summary = result.summary;
  }

  /** Adds a note to the events, e.g. what a robustness demo did on purpose. */
  note(type: string, detail: string, agent?: string): void {
    this.#events.push({ atMs: this.elapsedMs, type, detail, ...(agent ? { agent } : {}) });
  }

  /** Lists a file of the run directory in the transcript. */
  addFile(name: string): void {
    this.#files.add(name);
  }

  /** Lists a chart (a PNG in the run directory) for the report's gallery. */
  addChart(name: string): void {
    this.#files.add(name);
    if (!this.#charts.includes(name)) this.#charts.push(name);
  }

  /** Lists a chart and shows it inline with the next message `agent` sends (e.g. a tool's answer). */
  attachImage(agent: ConversableAgent, name: string): void {
    this.addChart(name);
    this.#pendingImages.set(agent, [...(this.#pendingImages.get(agent) ?? []), name]);
  }

  /** The charts so far. */
  get charts(): string[] {
    return [...this.#charts];
  }

  /** Records the messages and events of these agents from now on. */
  watch(agents: readonly ConversableAgent[]): void {
    for (const agent of agents) {
      if (this.#agents.has(agent)) continue;
      this.#agents.add(agent);
      agent.on('message-sent', ({ sender, recipient, message }) => {
        // A group-chat manager relays each message to every member: the speaker's own send is the one to keep.
        if (isGroupChatManager(sender)) return;
        this.#recordMessage(sender, recipient, message);
      });
      agent.on('code-execution-start', ({ codeBlocks }) => {
        this.note(
          'code-execution-start',
          `${codeBlocks.length} block(s): ${codeBlocks.map((block) => block.language).join(', ')}`,
          agent.name,
        );
      });
      agent.on('code-execution-end', ({ codeBlocks, result, durationMs }) => {
        const images = (result.outputFiles ?? [])
          .filter((file) => file.endsWith('.png'))
          .map((file) => basename(file));
        for (const image of images) this.attachImage(agent, image);
        this.#pendingExecutions.set(agent, {
          exitCode: result.exitCode,
          durationMs: Math.round(durationMs),
          languages: codeBlocks.map((block) => block.language),
        });
        this.note(
          'code-execution-end',
          `exit code ${result.exitCode} after ${(durationMs / 1000).toFixed(2)} s${images.length ? `, ${images.length} image(s)` : ''}`,
          agent.name,
        );
      });
      agent.on('speaker-selected', ({ speaker, method, reason, round, detail }) => {
        this.note(
          'speaker-selected',
          `round ${round}: ${speaker.name} (${method}: ${reason})${detail ? ` — ${detail}` : ''}`,
          speaker.name,
        );
      });
      agent.on('chat-terminated', ({ reason, detail }) => {
        this.note('chat-terminated', `${reason}${detail ? `: ${detail}` : ''}`, agent.name);
      });
      agent.on('human-input-requested', ({ prompt }) => {
        this.note('human-input-requested', prompt, agent.name);
      });
    }
  }

  /** The finished transcript. */
  finish(details: {
    runId: string;
    title: string;
    task: string;
    runtime: RuntimeChoice;
    problems: string[];
  }): Transcript {
    return {
      runId: details.runId,
      title: details.title,
      task: details.task,
      startedAt: new Date(this.#startedAt).toISOString(),
      durationMs: this.elapsedMs,
      runtime: details.runtime,
      outcome: details.problems.length === 0 ? 'succeeded' : 'failed',
      problems: details.problems,
      chats: this.#chats,
      messages: this.#messages,
      events: this.#events,
      usage: gatherUsageSummary(this.agents),
      files: [...this.#files].sort(),
      charts: [...this.#charts],
    };
  }

  #recordMessage(sender: ConversableAgent, recipient: ConversableAgent, message: Message): void {
    if (this.#chats.length === 0) this.beginChat('Chat');
    const entry: TranscriptMessage = {
      index: this.#messages.length,
      atMs: this.elapsedMs,
      chat: this.#chats.length - 1,
      sender: sender.name,
      recipient: recipient.name,
      message: structuredClone(message),
    };
    const execution = this.#pendingExecutions.get(sender);
    if (execution !== undefined && contentToString(message.content).startsWith('exitcode:')) {
      this.#pendingExecutions.delete(sender);
      entry.execution = execution;
    }
    const images = this.#pendingImages.get(sender);
    if (images !== undefined) {
      this.#pendingImages.delete(sender);
      entry.images = images;
    }
    this.#messages.push(entry);
  }
}

function isGroupChatManager(agent: ConversableAgent): boolean {
  return 'groupchat' in agent && typeof (agent as { runChat?: unknown }).runChat === 'function';
}
