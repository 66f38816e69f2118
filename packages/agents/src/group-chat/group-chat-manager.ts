import type { TerminationReason } from '../chats/chat-result.js';
import { assertPricesKnown, describeBudgetExceeded } from '../chats/run-budget.js';
import {
  ConversableAgent,
  type ConversableAgentOptions,
  type PrepareChatOptions,
} from '../conversable-agent.js';
import { errorMessage } from '../error-message.js';
import { BudgetExceededError, InvalidOptionError } from '../errors.js';
import { contentToString, type Message, type MessageInput, normalizeMessage } from '../message.js';
import type { ReplyContext, ReplyResult } from '../reply/reply-types.js';
import { traceSpeakerSelection } from '../telemetry/spans.js';
import { withoutTerminate } from '../termination.js';
import { clearAgentsHistory } from './clear-history-command.js';
import { GroupChat } from './group-chat.js';
import { NoEligibleSpeakerError, ResumeError } from './group-chat-errors.js';
import { warnOnce } from './warnings.js';

/** Options of {@link GroupChatManager}: those of `ConversableAgent` with the manager's defaults, plus the group chat. */
export interface GroupChatManagerOptions extends Partial<ConversableAgentOptions> {
  /** The group chat this manager runs. */
  groupchat: GroupChat;
  /** The manager's name. @default 'chat_manager' */
  name?: string;
  /** Consecutive auto replies; the manager answers once per chat, so it is unlimited. @default Infinity */
  maxConsecutiveAutoReply?: number;
  /** The manager never asks a human by default. @default 'NEVER' */
  humanInputMode?: ConversableAgentOptions['humanInputMode'];
  /** @default 'Group chat manager.' */
  systemMessage?: string;
}

/** Options of {@link GroupChatManager.resume}. */
export interface ResumeOptions {
  /**
   * Text removed from the last message (or a function that cleans it), so a saved chat that ended
   * with `TERMINATE` can go on.
   */
  removeTerminationString?: string | ((content: string) => string);
  /** Print nothing. @default false */
  silent?: boolean;
}

/** What {@link GroupChatManager.resume} returns: who spoke last and what, to restart the chat with. */
export interface ResumeResult {
  /** The agent to call `initiateChat(manager, { message: lastMessage, clearHistory: false })` on. */
  lastAgent: ConversableAgent;
  /** The last saved message. */
  lastMessage: Message;
}

/**
 * The agent that runs a {@link GroupChat}: it receives a message, broadcasts it, checks for
 * termination, picks the next speaker, lets it reply, and repeats (AutoGen's `GroupChatManager`).
 * A manager can itself be a member of another group chat.
 */
export class GroupChatManager extends ConversableAgent {
  readonly #groupchat: GroupChat;
  #lastSpeaker: ConversableAgent | undefined;

  constructor(options: GroupChatManagerOptions) {
    const {
      groupchat,
      name = 'chat_manager',
      maxConsecutiveAutoReply = Number.POSITIVE_INFINITY,
      humanInputMode = 'NEVER',
      systemMessage = 'Group chat manager.',
      ...rest
    } = options ?? ({} as GroupChatManagerOptions);
    if (!(groupchat instanceof GroupChat)) {
      throw new InvalidOptionError(
        'GroupChatManager needs `groupchat`: new GroupChatManager({ groupchat: new GroupChat({ agents }) }).',
      );
    }
    const llmConfig = rest.llmConfig;
    if (llmConfig && ((llmConfig.tools && llmConfig.tools.length > 0) || 'functions' in llmConfig)) {
      throw new InvalidOptionError(
        'GroupChatManager is not allowed to make function/tool calls. Please remove `functions` and `tools` from the llmConfig you passed in.',
      );
    }
    // Like AutoGen, a manager without a model is fine until an 'auto' selection needs one: the
    // selection then fails with MISSING_SELECTOR_CONFIG (team lookups, resume and
    // messagesToString never select).
    super({ ...rest, name, maxConsecutiveAutoReply, humanInputMode, systemMessage });
    this.#groupchat = groupchat;
    this.registerReply(ConversableAgent, (context: ReplyContext<GroupChat>) => this.runChat(context), {
      config: groupchat,
      resetConfig: (config: GroupChat) => {
        config.reset();
        return config;
      },
      name: 'runChat',
    });
  }

  /** The group chat this manager runs. */
  get groupchat(): GroupChat {
    return this.#groupchat;
  }

  /** The agent that spoke last in the latest run this manager hosted (the run itself holds the truth). */
  get lastSpeaker(): ConversableAgent | undefined {
    return this.#lastSpeaker;
  }

  /** The group transcript: a summary of a group chat covers what everybody said. */
  override chatMessagesForSummary(_agent: ConversableAgent): Message[] {
    return this.#groupchat.messages;
  }

  /** Also resets the group (when clearing history) and prepares every member for a chat with this manager. */
  override prepareChat(recipient: ConversableAgent, options: PrepareChatOptions = {}): void {
    const { clearHistory = true, prepareRecipient = true, replyAtReceive = true } = options;
    super.prepareChat(recipient, options);
    if (clearHistory) this.#groupchat.reset();
    for (const agent of this.#groupchat.agents) {
      if (agent !== recipient || prepareRecipient)
        agent.prepareChat(this, { clearHistory, prepareRecipient: false, replyAtReceive });
    }
  }

  /**
   * The run loop (AutoGen's `run_chat`), registered as this agent's first reply function. Per round:
   * append, broadcast, check termination, select, reply. Each round costs the same however long the
   * transcript is. Ends with the reason recorded for `ChatResult.terminationReason`.
   *
   * It uses only its context, never `this`, so any agent can host a group chat the AutoGen way:
   * `host.registerReply(ConversableAgent, GroupChatManager.prototype.runChat, { config: groupchat })`.
   * The host then broadcasts, selects speakers (with its own `llmConfig` for `'auto'`) and ends the
   * chat with its own `isTerminationMsg`.
   */
  async runChat({
    agent: host,
    messages,
    sender,
    config,
    run,
  }: ReplyContext<GroupChat>): Promise<ReplyResult> {
    const groupchat = config ?? (host instanceof GroupChatManager ? host.#groupchat : undefined);
    if (!(groupchat instanceof GroupChat)) {
      throw new InvalidOptionError(
        `Agent '${host.name}' runs a group chat without one: register the run loop with the group chat as its config, registerReply(ConversableAgent, GroupChatManager.prototype.runChat, { config: groupchat }).`,
      );
    }
    let message = messages.at(-1);
    if (message === undefined || sender === undefined) return { final: true, reply: null };
    let speaker: ConversableAgent = sender;
    const silent = host.isSilent();
    const members = groupchat.agents;
    const progress = run.groupChat(host);
    // As a member of an outer group chat, the manager answers that group with its own chat's last
    // message (AutoGen replies nothing, which ends the outer chat).
    const outer = sender instanceof GroupChatManager && sender.groupchat.agents.includes(host);
    const end = async (reason: TerminationReason, detail?: string): Promise<ReplyResult> => {
      run.recordEnding(host, sender, detail === undefined ? { reason } : { reason, detail });
      await run.record('chat-terminated', { agent: host.name, reason, ...(detail ? { detail } : {}) });
      host.emit('chat-terminated', { agent: host, reason, ...(detail ? { detail } : {}) });
      if (outer && reason !== 'aborted') {
        const answer = withoutTerminate(contentToString(groupchat.messages.at(-1)?.content)).trim();
        if (answer) return { final: true, reply: answer };
      }
      return { final: true, reply: null };
    };
    assertPricesKnown(run.budget, [host, ...members]);
    const quietly = { requestReply: false, silent: true, run } as const;
    if (groupchat.sendIntroductions) {
      const intro = groupchat.introductionsMsg();
      for (const agent of members) await host.send(intro, agent, quietly);
    }
    const maxRound = groupchat.maxRound;
    for (let round = 0; round < maxRound; round++) {
      groupchat.append(message, speaker);
      progress.round = round + 1;
      progress.lastSpeaker = speaker.name;
      if (host instanceof GroupChatManager) host.#lastSpeaker = speaker;
      for (const agent of members) {
        if (agent !== speaker) await host.send(message, agent, quietly);
      }
      if (host.isTerminationMsg(message)) {
        return end(
          'termination-message',
          `The manager '${host.name}' found a termination message from ${speaker.name}.`,
        );
      }
      if (round === maxRound - 1) return end('max-round', `Maximum rounds (${maxRound}) reached.`);
      if (run.aborted) return end('aborted', 'The chat was aborted.');
      const exceeded = run.budget?.exceeded();
      if (exceeded) return end('budget-exceeded', describeBudgetExceeded(exceeded));
      let reply: MessageInput | null;
      try {
        const previous = speaker;
        const selection = await traceSpeakerSelection(host.name, round + 1, () =>
          groupchat.selectSpeakerWithReason(previous, host, { run }),
        );
        speaker = selection.speaker;
        if (!silent) host.renderer.notice(`\nNext speaker: ${speaker.name}\n`);
        await run.record('speaker-selected', {
          speaker: speaker.name,
          method: selection.method,
          reason: selection.reason,
          round: round + 1,
          ...(selection.detail ? { detail: selection.detail } : {}),
        });
        host.emit('speaker-selected', {
          speaker,
          method: selection.method,
          reason: selection.reason,
          round: round + 1,
          ...(selection.detail ? { detail: selection.detail } : {}),
        });
        if (run.aborted) return end('aborted', 'The chat was aborted.');
        run.clearEnding(speaker, host);
        reply = await speaker.generateReply({ sender: host, run });
      } catch (error) {
        if (error instanceof NoEligibleSpeakerError) return end(error.reason, error.message);
        if (error instanceof BudgetExceededError) return end('budget-exceeded', error.message);
        // Only our own signal counts: an unrelated AbortError from a member's code is a real error.
        if (run.aborted) return end('aborted', 'The chat was aborted.');
        throw error;
      }
      if (reply === null) {
        const own = run.endingOf(speaker, host);
        if (own)
          return end(own.reason, `${speaker.name} ended the chat${own.detail ? `: ${own.detail}` : '.'}`);
        return end('no-reply', `${speaker.name} produced no reply.`);
      }
      if (groupchat.enableClearHistory) reply = clearAgentsHistory(reply, groupchat, host);
      await speaker.send(reply, host, { requestReply: false, silent, run });
      message = host.lastMessage(speaker);
      if (message === undefined) return end('no-reply', `${speaker.name} produced no reply.`);
    }
    return end('max-round', `Maximum rounds (${maxRound}) reached.`);
  }

  /**
   * Loads a saved transcript so the chat can go on (AutoGen's `resume`): clears every history,
   * replays all messages but the last to the members and the group, optionally strips the
   * termination text from the last one, and returns who should send it. Then call
   * `lastAgent.initiateChat(manager, { message: lastMessage, clearHistory: false })`.
   * Invalid input throws {@link ResumeError} before anything is cleared.
   */
  async resume(messages: Message[] | string, options: ResumeOptions = {}): Promise<ResumeResult> {
    let loaded: Message[];
    if (typeof messages === 'string') {
      loaded = this.messagesFromString(messages);
    } else if (
      Array.isArray(messages) &&
      messages.every((item) => item !== null && typeof item === 'object')
    ) {
      loaded = structuredClone(messages);
    } else {
      throw new ResumeError(
        'Messages is not of type str or List[Dict]. Pass an array of messages or their JSON.',
      );
    }
    const groupchat = this.#groupchat;
    if (loaded.length === 0) {
      throw new ResumeError(
        'Cannot resume group chat as no messages were provided. Use initiateChat to start a new chat.',
      );
    }
    for (const message of loaded) {
      if (
        message.name &&
        !groupchat.agentByName(message.name) &&
        message.name !== groupchat.adminName &&
        message.name !== this.name
      ) {
        throw new ResumeError(`Agent name in message doesn't exist as agent in group chat: ${message.name}`);
      }
    }
    // Every message must be valid before anything is cleared, so a bad transcript changes nothing.
    for (const [index, message] of loaded.entries()) {
      try {
        normalizeMessage(
          message as MessageInput,
          { role: 'user', name: message.name ?? this.name },
          'receive',
        );
      } catch (error) {
        throw new ResumeError(
          `Cannot resume: message ${index} is not a valid chat message (${errorMessage(error)}). Fix or remove it and resume again.`,
        );
      }
    }
    for (const agent of groupchat.agents) agent.clearHistory();
    this.clearHistory();
    groupchat.reset();

    let lastSpeakerName = this.name;
    for (const [index, message] of loaded.entries()) {
      if (message.name === undefined) message.name = this.name;
      const speaker = groupchat.agentByName(message.name) ?? (message.name === this.name ? this : undefined);
      if (index !== loaded.length - 1) {
        for (const agent of groupchat.agents) {
          if (agent.name === message.name)
            await agent.send(message, this, { requestReply: false, silent: true });
          else await this.send(message, agent, { requestReply: false, silent: true });
        }
        if (speaker) groupchat.append(message, speaker);
        else groupchat.messages.push(message);
      }
      lastSpeakerName = message.name;
    }
    const lastMessage = loaded.at(-1)!;
    let lastAgent = groupchat.agentByName(lastSpeakerName);
    if (!lastAgent && (lastSpeakerName === groupchat.adminName || lastSpeakerName === this.name))
      lastAgent = this;
    const remove = options.removeTerminationString;
    if (remove && typeof lastMessage.content === 'string' && lastMessage.content) {
      lastMessage.content =
        typeof remove === 'string' ? lastMessage.content.replaceAll(remove, '') : remove(lastMessage.content);
    }
    if (this.isTerminationMsg(lastMessage)) {
      warnOnce(this, 'WARNING: Last message meets termination criteria and this may terminate the chat.');
    }
    if (!options.silent) {
      this.renderer.notice(
        `Prepared group chat with ${loaded.length} messages, the last speaker is ${lastSpeakerName}`,
      );
    }
    groupchat.sendIntroductions = false;
    return { lastAgent: lastAgent ?? this, lastMessage };
  }

  /** The group transcript as JSON, for saving and later {@link resume}. */
  messagesToString(messages: readonly Message[] = this.#groupchat.messages): string {
    return JSON.stringify(messages);
  }

  /** Parses a transcript saved by {@link messagesToString}; throws {@link ResumeError} for invalid JSON. */
  messagesFromString(text: string): Message[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ResumeError('Messages string is not a valid JSON string', { cause: error });
    }
    if (!Array.isArray(parsed)) {
      throw new ResumeError('Messages string is not a valid JSON string of a list of messages.');
    }
    return parsed as Message[];
  }
}
