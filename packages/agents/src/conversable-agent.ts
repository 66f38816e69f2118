import { EventEmitter } from 'eventemitter3';
import { appendCarryover } from './carryover.js';
import type { ChatResult, TerminationReason } from './chat-result.js';
import type { ChatQueueItem } from './chats/chat-queue.js';
import { initiateChatsFrom } from './chats/initiate-chats.js';
import {
  type NestedChatQueueItem,
  type RegisterNestedChatsOptions,
  registerNestedChats,
} from './chats/nested-chats.js';
import { generateCodeExecutionReply } from './code-execution/code-execution-reply.js';
import type { CodeExecutor } from './code-execution/types.js';
import { ConsoleRenderer, type TranscriptRenderer } from './console-renderer.js';
import { ConversationNotFoundError, InvalidOptionError, ModelClientError } from './errors.js';
import type { AgentEvents } from './events.js';
import { type HumanInputProvider, TerminalHumanInput } from './human-input.js';
import { type InitiateChatOptions, initiateChatWith } from './initiate-chat.js';
import type { LlmConfig } from './llm-config.js';
import {
  contentToString,
  type Message,
  type MessageInput,
  normalizeMessage,
  toModelMessages,
} from './message.js';
import { createModelClient } from './model-clients/create-model-client.js';
import type { ModelClient } from './model-clients/model-client.js';
import { generateModelReply } from './model-clients/model-reply.js';
import { matchTrigger, type ReplyTrigger, validateTrigger } from './reply-trigger.js';
import { generateToolCallsReply } from './tools/tool-calls-reply.js';
import { toolDefinition } from './tools/tool-definition.js';
import type { FunctionMapEntry, Tool, ToolDefinition } from './tools/tool-types.js';

/** How an agent asks a human: on every message, only to end a conversation, or never. */
export type HumanInputMode = 'ALWAYS' | 'TERMINATE' | 'NEVER';

/** Code execution settings of an agent. */
export interface CodeExecutionConfig {
  /** Runs the code blocks found in received messages. */
  executor: CodeExecutor;
  /**
   * How many recent messages to scan for code, newest first; `'auto'` scans the messages received
   * since this agent last spoke. @default 'auto'
   */
  lastNMessages?: number | 'auto';
}

/** What a reply function answers: `final: true` stops the pipeline with `reply` (`null` ends the conversation). */
export interface ReplyResult {
  final: boolean;
  reply?: MessageInput | null;
}

/** What a reply function receives. */
export interface ReplyContext<TConfig = unknown> {
  /** The agent that is replying. */
  agent: ConversableAgent;
  /** The conversation so far (after hooks), oldest first. */
  messages: Message[];
  /** Who the reply is for, when known. */
  sender: ConversableAgent | undefined;
  /** The `config` given at registration (reset by `reset()`). */
  config: TConfig;
}

/** A step of the reply pipeline. */
export type ReplyFunction<TConfig = unknown> = (
  context: ReplyContext<TConfig>,
) => ReplyResult | Promise<ReplyResult>;

/** Options of {@link ConversableAgent.registerReply}. */
export interface RegisterReplyOptions<TConfig = unknown> {
  /** Index in the pipeline; 0 (the default) puts it first, so later registrations are checked earlier. @default 0 */
  position?: number;
  /** Passed to the reply function as `context.config`. */
  config?: TConfig;
  /** Called by `reset()` to restore the config; by default a shallow copy of the original is restored. */
  resetConfig?: (config: TConfig) => TConfig | undefined;
  /** Remove every other reply function first. @default false */
  removeOtherReplyFunctions?: boolean;
  /** Name used in events and errors. @default the function's name */
  name?: string;
}

/** The points where hooks can change messages. */
export interface AgentHooks {
  /** Changes the text of the last received message before the pipeline sees it. */
  processLastReceivedMessage: (content: string) => string;
  /** Changes the whole list of messages the pipeline sees (works on a copy). */
  processAllMessagesBeforeReply: (messages: Message[]) => Message[];
  /** Changes a message before it is sent. */
  processMessageBeforeSend: (context: {
    sender: ConversableAgent;
    message: MessageInput;
    recipient: ConversableAgent;
    silent: boolean;
  }) => MessageInput;
}

/** Options of {@link ConversableAgent}. */
export interface ConversableAgentOptions {
  /** The agent's name; it is put on every message the agent sends. */
  name: string;
  /** System message prepended to every model call. @default 'You are a helpful AI Assistant.' */
  systemMessage?: string;
  /** What the agent does, for group-chat speaker selection. @default the system message */
  description?: string;
  /** Model settings, or `false` for an agent that never calls a model. @default false */
  llmConfig?: LlmConfig | false;
  /** When to ask a human. @default 'TERMINATE' */
  humanInputMode?: HumanInputMode;
  /** Decides whether a received message ends the conversation. @default content is exactly 'TERMINATE' */
  isTerminationMsg?: (message: Message) => boolean;
  /** Replies this agent makes in a row to one sender without a human. @default 100 */
  maxConsecutiveAutoReply?: number;
  /** Reply used when no step of the pipeline produced one. @default '' */
  defaultAutoReply?: MessageInput;
  /** Run code found in received messages, or `false`. @default false */
  codeExecutionConfig?: CodeExecutionConfig | false;
  /** Functions this agent can run for tool calls, by name. @default {} */
  functionMap?: Record<string, FunctionMapEntry>;
  /** History to start from, per conversation partner. */
  chatMessages?: Map<ConversableAgent, Message[]>;
  /** When set, overrides the `silent` of every call: `true` prints nothing. @default undefined */
  silent?: boolean;
  /** Where human input comes from. @default the terminal */
  humanInput?: HumanInputProvider;
  /** Draws the transcript. @default a `ConsoleRenderer` on standard output */
  renderer?: TranscriptRenderer;
}

/** Options of {@link ConversableAgent.send} and {@link ConversableAgent.receive}. */
export interface SendOptions {
  /** Ask the recipient to reply. @default the recipient decides (it replies during a chat) */
  requestReply?: boolean;
  /** Print nothing for this message. @default false */
  silent?: boolean;
}

interface ReplyEntry {
  trigger: ReplyTrigger;
  replyFunction: ReplyFunction<any>;
  name: string;
  config: unknown;
  initialConfig: unknown;
  resetConfig: ((config: any) => unknown) | undefined;
}

const DEFAULT_SYSTEM_MESSAGE = 'You are a helpful AI Assistant.';

/** AutoGen's prompt for `reflection_with_llm` summaries. */
export const DEFAULT_SUMMARY_PROMPT =
  'Summarize the takeaway from the conversation. Do not add any introductory phrases.';

/**
 * An agent that converses: it sends and receives OpenAI chat messages and replies through a
 * pipeline of reply functions (termination and human input, tool calls, code execution, model,
 * then `defaultAutoReply`), as AutoGen's `ConversableAgent` does.
 */
export class ConversableAgent extends EventEmitter<AgentEvents> {
  /** The agent's name. */
  readonly name: string;
  /** When to ask a human. */
  humanInputMode: HumanInputMode;
  /** The agent's history, per conversation partner. */
  readonly chatMessages: Map<ConversableAgent, Message[]>;
  /** Functions this agent can run for tool calls. */
  readonly functionMap: Map<string, FunctionMapEntry>;
  /** Reply used when no reply function produced one. */
  defaultAutoReply: MessageInput;
  /** When set, overrides the `silent` of every call. */
  silent: boolean | undefined;
  /** Draws the transcript. */
  renderer: TranscriptRenderer;
  /** Where human input comes from. */
  humanInput: HumanInputProvider;
  /** The abort signal of the chat in progress, if any; checked between turns. */
  currentSignal: AbortSignal | undefined;
  // Per conversation partner, so an agent in several chats at once (nested or concurrent chats)
  // reports each chat's own ending and human input.
  #terminations = new Map<ConversableAgent | undefined, { reason: TerminationReason; detail?: string }>();
  #humanInputByPartner = new Map<ConversableAgent | undefined, string[]>();

  #systemMessage: string;
  #description: string;
  #llmConfig: LlmConfig | false;
  #modelClient: ModelClient | null;
  #llmTools = new Map<string, ToolDefinition>();
  #isTerminationMsg: (message: Message) => boolean;
  #defaultMaxConsecutiveAutoReply: number;
  #maxConsecutiveAutoReply = new Map<ConversableAgent | undefined, number>();
  #consecutiveAutoReplyCounter = new Map<ConversableAgent | undefined, number>();
  #replyAtReceive = new Map<ConversableAgent, boolean>();
  #replyFunctions: ReplyEntry[] = [];
  #hooks: { [K in keyof AgentHooks]: AgentHooks[K][] } = {
    processLastReceivedMessage: [],
    processAllMessagesBeforeReply: [],
    processMessageBeforeSend: [],
  };
  #codeExecutionConfig: CodeExecutionConfig | false;

  constructor(options: ConversableAgentOptions) {
    super();
    if (!options || typeof options.name !== 'string' || options.name.length === 0) {
      throw new InvalidOptionError(
        'An agent needs a name: new ConversableAgent({ name: "assistant", ... }).',
      );
    }
    this.name = options.name;
    this.#systemMessage = options.systemMessage ?? DEFAULT_SYSTEM_MESSAGE;
    this.#description = options.description ?? this.#systemMessage;
    this.humanInputMode = options.humanInputMode ?? 'TERMINATE';
    if (!['ALWAYS', 'TERMINATE', 'NEVER'].includes(this.humanInputMode)) {
      throw new InvalidOptionError(
        `humanInputMode must be 'ALWAYS', 'TERMINATE' or 'NEVER', got ${JSON.stringify(options.humanInputMode)}.`,
      );
    }
    this.#isTerminationMsg =
      options.isTerminationMsg ?? ((message) => contentToString(message.content) === 'TERMINATE');
    this.#defaultMaxConsecutiveAutoReply = options.maxConsecutiveAutoReply ?? 100;
    this.defaultAutoReply = options.defaultAutoReply ?? '';
    this.silent = options.silent;
    this.renderer = options.renderer ?? new ConsoleRenderer();
    this.humanInput = options.humanInput ?? new TerminalHumanInput();
    this.chatMessages = new Map(options.chatMessages ?? []);
    this.functionMap = new Map();
    if (options.functionMap) this.registerFunction(options.functionMap);
    this.#llmConfig = options.llmConfig ?? false;
    this.#modelClient = this.#llmConfig === false ? null : createModelClient(this.#llmConfig);
    const lastN = options.codeExecutionConfig
      ? (options.codeExecutionConfig.lastNMessages ?? 'auto')
      : 'auto';
    if (lastN !== 'auto' && !(Number.isInteger(lastN) && lastN >= 0)) {
      throw new InvalidOptionError(
        "lastNMessages must be either a non-negative integer, or the string 'auto'.",
      );
    }
    if (options.codeExecutionConfig && !options.codeExecutionConfig.executor) {
      throw new InvalidOptionError(
        'codeExecutionConfig needs an executor, e.g. { executor: new HopXCodeExecutor() } or { executor: new LocalCommandLineCodeExecutor() }.',
      );
    }
    this.#codeExecutionConfig = options.codeExecutionConfig ?? false;

    // Registered in reverse: each goes to position 0, so the pipeline runs termination first.
    this.registerReply([ConversableAgent, null], generateModelReply, {
      name: 'generateModelReply',
    });
    if (this.#codeExecutionConfig) {
      const config = this.#codeExecutionConfig;
      this.registerReply([ConversableAgent, null], (context) => generateCodeExecutionReply(context, config), {
        name: 'generateCodeExecutionReply',
      });
    }
    this.registerReply([ConversableAgent, null], generateToolCallsReply, {
      name: 'generateToolCallsReply',
    });
    this.registerReply([ConversableAgent, null], (context) => this.#checkTerminationAndHumanReply(context), {
      name: 'checkTerminationAndHumanReply',
    });
  }

  /** The system message prepended to model calls. */
  get systemMessage(): string {
    return this.#systemMessage;
  }

  /** Replaces the system message. */
  updateSystemMessage(systemMessage: string): void {
    this.#systemMessage = systemMessage;
  }

  /** What the agent does, for speaker selection. */
  get description(): string {
    return this.#description;
  }

  set description(description: string) {
    this.#description = description;
  }

  /** The model settings, or `false`. */
  get llmConfig(): LlmConfig | false {
    return this.#llmConfig;
  }

  /** The client used for model replies, or `null` when the agent has no `llmConfig`. */
  get modelClient(): ModelClient | null {
    return this.#modelClient;
  }

  /** The code execution settings, or `false`. */
  get codeExecutionConfig(): CodeExecutionConfig | false {
    return this.#codeExecutionConfig;
  }

  /** The tools sent to the model: `llmConfig.tools` plus those added by `registerForLlm`. */
  get llmTools(): ToolDefinition[] {
    const configured = this.#llmConfig === false ? [] : (this.#llmConfig.tools ?? []);
    const byName = new Map(configured.map((tool) => [tool.function.name, tool]));
    for (const [name, tool] of this.#llmTools) byName.set(name, tool);
    return [...byName.values()];
  }

  /** Whether `message` ends the conversation for this agent. */
  isTerminationMsg(message: Message): boolean {
    return this.#isTerminationMsg(message);
  }

  // ---------------------------------------------------------------- messaging

  /**
   * Sends a message: runs the before-send hooks, appends it to this agent's history with role
   * `assistant`, and hands it to the recipient. An invalid message throws before anything is appended.
   */
  async send(message: MessageInput, recipient: ConversableAgent, options: SendOptions = {}): Promise<void> {
    const silent = options.silent ?? false;
    let outgoing = message;
    for (const hook of this.#hooks.processMessageBeforeSend) {
      outgoing = hook({ sender: this, message: outgoing, recipient, silent });
    }
    // The recipient's view differs only in the default role, so this one check decides for both
    // sides: an invalid message is appended on neither.
    const stored = normalizeMessage(outgoing, { role: 'assistant', name: this.name }, 'send');
    this.#history(recipient).push(stored);
    this.emit('message-sent', { sender: this, recipient, message: stored, silent });
    await recipient.receive(outgoing, this, options);
  }

  /**
   * Receives a message: appends it with role `user`, prints it unless silent, and replies when
   * asked to (or, with `requestReply` unset, when a chat with the sender is in progress).
   */
  async receive(message: MessageInput, sender: ConversableAgent, options: SendOptions = {}): Promise<void> {
    const silent = this.silent ?? options.silent ?? false;
    const stored = normalizeMessage(message, { role: 'user', name: sender.name }, 'receive');
    this.#history(sender).push(stored);
    if (!silent) this.renderer.messageReceived(stored, sender.name, this.name);
    this.emit('message-received', { sender, recipient: this, message: stored, silent });
    const requestReply = options.requestReply ?? this.#replyAtReceive.get(sender) ?? false;
    if (!requestReply) return;
    if (this.currentSignal?.aborted) {
      this.recordTermination('aborted', undefined, sender);
      return;
    }
    const reply = await this.generateReply({ messages: this.#history(sender), sender });
    if (reply !== null) await this.send(reply, sender, { silent: options.silent ?? false });
  }

  /**
   * Produces a reply by walking the reply pipeline; the first final reply function wins, otherwise
   * `defaultAutoReply`. `null` means the conversation ends.
   */
  async generateReply(
    options: { messages?: Message[]; sender?: ConversableAgent; exclude?: ReplyFunction<any>[] } = {},
  ): Promise<MessageInput | null> {
    const { sender, exclude } = options;
    if (options.messages === undefined && sender === undefined) {
      throw new InvalidOptionError(
        'generateReply needs messages or a sender: pass { sender } or { messages }.',
      );
    }
    let messages = options.messages ?? this.#history(sender as ConversableAgent);
    messages = this.#applyLastReceivedMessageHooks(messages);
    for (const hook of this.#hooks.processAllMessagesBeforeReply) messages = hook([...messages]);
    for (const entry of this.#replyFunctions) {
      if (exclude?.includes(entry.replyFunction)) continue;
      if (!matchTrigger(entry.trigger, sender, ConversableAgent)) continue;
      const result = await entry.replyFunction({ agent: this, messages, sender, config: entry.config });
      if (result.final) {
        const reply = result.reply ?? null;
        this.emit('reply-generated', { agent: this, ...(sender ? { sender } : {}), reply });
        return reply;
      }
    }
    this.emit('reply-generated', {
      agent: this,
      ...(sender ? { sender } : {}),
      reply: this.defaultAutoReply,
    });
    return this.defaultAutoReply;
  }

  /**
   * Starts a conversation with `recipient` and resolves when it ends, with the history, a summary,
   * the cost and why it ended.
   */
  initiateChat(recipient: ConversableAgent, options: InitiateChatOptions = {}): Promise<ChatResult> {
    return initiateChatWith(this, recipient, options);
  }

  /** Runs several chats in order (or as a dependency graph), with this agent as the default sender. */
  initiateChats(queue: readonly ChatQueueItem[]): Promise<ChatResult[]> {
    return initiateChatsFrom(this, queue);
  }

  /** Runs `queue` as nested chats when a message from `trigger` arrives and replies with the last summary. */
  registerNestedChats(queue: readonly NestedChatQueueItem[], options: RegisterNestedChatsOptions): void {
    registerNestedChats(this, queue, options);
  }

  /**
   * Builds the first message of a chat: the given message with the carryover appended as
   * `"\nContext: \n"` plus the carryover items joined by newlines.
   */
  async generateInitMessage(
    message: InitiateChatOptions['message'],
    recipient: ConversableAgent,
    carryover?: unknown,
  ): Promise<MessageInput> {
    if (message === undefined) return this.getHumanInput('>', recipient);
    if (typeof message === 'function') return message(this, recipient, { carryover });
    return appendCarryover(message, carryover);
  }

  /**
   * Gets ready for a chat with `recipient` (AutoGen's `_prepare_chat`): resets counters, sets
   * whether to reply on receive, and clears history when asked. Group-chat managers extend it.
   */
  prepareChat(
    recipient: ConversableAgent,
    clearHistory: boolean,
    prepareRecipient = true,
    replyAtReceive = true,
  ): void {
    this.resetConsecutiveAutoReplyCounter(recipient);
    this.#replyAtReceive.set(recipient, replyAtReceive);
    this.#terminations.delete(recipient);
    if (clearHistory) {
      this.clearHistory(recipient);
      this.#humanInputByPartner.delete(recipient);
    }
    if (prepareRecipient) recipient.prepareChat(this, clearHistory, false, replyAtReceive);
  }

  /** The messages a summary of the chat with `agent` is made from. Group-chat managers return the group's transcript. */
  chatMessagesForSummary(agent: ConversableAgent): Message[] {
    return this.chatMessages.get(agent) ?? [];
  }

  /** Records why a conversation ended; `initiateChat` reports it in `ChatResult.terminationReason`. */
  recordTermination(reason: TerminationReason, detail?: string, partner?: ConversableAgent): void {
    this.#terminations.set(partner, detail === undefined ? { reason } : { reason, detail });
  }

  /** Why this agent ended its conversation with `partner`, if it did since that chat was prepared. */
  terminationWith(
    partner: ConversableAgent | undefined,
  ): { reason: TerminationReason; detail?: string } | undefined {
    return this.#terminations.get(partner);
  }

  /** Forgets the recorded ending of the conversation with `partner`, before a new turn. */
  clearTerminationWith(partner: ConversableAgent | undefined): void {
    this.#terminations.delete(partner);
  }

  /** What humans answered in this agent's conversation with `partner` since that chat was prepared. */
  humanInputWith(partner: ConversableAgent | undefined): string[] {
    return [...(this.#humanInputByPartner.get(partner) ?? [])];
  }

  /** The last message exchanged with `agent`, or with the only partner when `agent` is omitted. */
  lastMessage(agent?: ConversableAgent): Message | undefined {
    if (agent === undefined) {
      if (this.chatMessages.size === 0) return undefined;
      if (this.chatMessages.size > 1) {
        throw new ConversationNotFoundError(
          'More than one conversation is found. Please specify the sender to get the last message.',
        );
      }
      const [only] = this.chatMessages.values();
      return only?.at(-1);
    }
    const history = this.chatMessages.get(agent);
    if (history === undefined) {
      throw new ConversationNotFoundError(
        `The agent '${agent.name}' is not present in any conversation. No history available for this agent.`,
      );
    }
    return history.at(-1);
  }

  /**
   * Clears the history with `agent`, or every history. With `preserve: N`, keeps the last N
   * messages, and one more when that would separate a tool answer from its call.
   */
  clearHistory(agent?: ConversableAgent, options: { preserve?: number } = {}): void {
    const keep = (messages: Message[]): Message[] => {
      const count = options.preserve ?? 0;
      if (count <= 0) return [];
      let start = Math.max(0, messages.length - count);
      if (start > 0 && (messages[start]?.tool_responses || messages[start]?.role === 'tool')) start -= 1;
      return messages.slice(start);
    };
    if (agent !== undefined) {
      if (this.chatMessages.has(agent))
        this.chatMessages.set(agent, keep(this.chatMessages.get(agent) ?? []));
      return;
    }
    for (const [partner, messages] of this.chatMessages) this.chatMessages.set(partner, keep(messages));
  }

  /** Clears histories, counters and reply-function configs, and the model client's usage. */
  reset(): void {
    this.clearHistory();
    this.resetConsecutiveAutoReplyCounter();
    this.stopReplyAtReceive();
    this.#modelClient?.clearUsage();
    this.#humanInputByPartner.clear();
    this.#terminations.clear();
    for (const entry of this.#replyFunctions) {
      entry.config = entry.resetConfig
        ? (entry.resetConfig(entry.config) ?? entry.initialConfig)
        : shallowCopy(entry.initialConfig);
    }
  }

  /** The limit of consecutive auto replies to `sender` (or the default). */
  maxConsecutiveAutoReply(sender?: ConversableAgent): number {
    if (sender === undefined) return this.#defaultMaxConsecutiveAutoReply;
    return this.#maxConsecutiveAutoReply.get(sender) ?? this.#defaultMaxConsecutiveAutoReply;
  }

  /** Changes the limit for `sender`, or the default and every per-sender limit. */
  updateMaxConsecutiveAutoReply(value: number, sender?: ConversableAgent): void {
    if (sender === undefined) {
      this.#defaultMaxConsecutiveAutoReply = value;
      for (const key of this.#maxConsecutiveAutoReply.keys()) this.#maxConsecutiveAutoReply.set(key, value);
    } else {
      this.#maxConsecutiveAutoReply.set(sender, value);
    }
  }

  /** Stops replying on receive to `sender`, or to everyone. */
  stopReplyAtReceive(sender?: ConversableAgent): void {
    if (sender === undefined) this.#replyAtReceive.clear();
    else this.#replyAtReceive.set(sender, false);
  }

  /** Resets the consecutive auto-reply counter for `sender`, or every counter. */
  resetConsecutiveAutoReplyCounter(sender?: ConversableAgent): void {
    if (sender === undefined) this.#consecutiveAutoReplyCounter.clear();
    else this.#consecutiveAutoReplyCounter.set(sender, 0);
  }

  // ---------------------------------------------------------------- pipeline registration

  /** Adds a step to the reply pipeline. */
  registerReply<TConfig = unknown>(
    trigger: ReplyTrigger,
    replyFunction: ReplyFunction<TConfig>,
    options: RegisterReplyOptions<TConfig> = {},
  ): void {
    validateTrigger(trigger, ConversableAgent);
    if (options.removeOtherReplyFunctions) this.#replyFunctions = [];
    const entry: ReplyEntry = {
      trigger,
      replyFunction,
      name: options.name ?? (replyFunction.name || 'replyFunction'),
      config: shallowCopy(options.config),
      initialConfig: options.config,
      resetConfig: options.resetConfig,
    };
    this.#replyFunctions.splice(options.position ?? 0, 0, entry);
  }

  /** Replaces a registered reply function with another, keeping its place and trigger. */
  replaceReplyFunction(oldFunction: ReplyFunction<any>, newFunction: ReplyFunction<any>): void {
    for (const entry of this.#replyFunctions) {
      if (entry.replyFunction === oldFunction) entry.replyFunction = newFunction;
    }
  }

  /** Names of the reply functions, in pipeline order. */
  get replyFunctionNames(): string[] {
    return this.#replyFunctions.map((entry) => entry.name);
  }

  /** Adds a hook at one of the three hookable points. */
  registerHook<K extends keyof AgentHooks>(point: K, hook: AgentHooks[K]): void {
    const hooks = this.#hooks[point] as AgentHooks[K][] | undefined;
    if (!hooks) {
      throw new InvalidOptionError(
        `${String(point)} is not a hookable method. Use processLastReceivedMessage, processAllMessagesBeforeReply or processMessageBeforeSend.`,
      );
    }
    if (hooks.includes(hook))
      throw new InvalidOptionError(`${hook.name || 'This hook'} is already registered as a hook.`);
    hooks.push(hook);
  }

  // ---------------------------------------------------------------- tools

  /** Adds, replaces or (with `null`) removes functions this agent can run for tool calls. */
  registerFunction(functions: Record<string, FunctionMapEntry | null>): void {
    for (const [name, entry] of Object.entries(functions)) {
      if (!/^[a-zA-Z0-9_-]+$/.test(name) || name.length > 64) {
        throw new InvalidOptionError(
          `Invalid name: ${name}. Only letters, numbers, '_' and '-' are allowed.`,
        );
      }
      if (entry === null) this.functionMap.delete(name);
      else this.functionMap.set(name, entry);
    }
  }

  /** Lets the model call `tool`: its definition is sent with every model request of this agent. */
  registerForLlm(tool: Tool | ToolDefinition): void {
    if (this.#llmConfig === false) {
      throw new InvalidOptionError(
        `To register the tool for the model, agent '${this.name}' must have an llmConfig. Register it with registerForExecution on the agent that runs tools instead.`,
      );
    }
    const definition = toolDefinition(tool);
    this.#llmTools.set(definition.function.name, definition);
  }

  /** Lets this agent run `tool` when a tool call names it. */
  registerForExecution(tool: Tool): void {
    this.registerFunction({ [tool.name]: tool });
  }

  /** Whether this agent can run every named function. */
  canExecuteFunction(names: string | readonly string[]): boolean {
    const list = typeof names === 'string' ? [names] : names;
    return list.every((name) => this.functionMap.has(name));
  }

  // ---------------------------------------------------------------- human input

  /** Asks a human through the agent's `humanInput` provider and remembers the answer. */
  async getHumanInput(prompt: string, sender?: ConversableAgent): Promise<string> {
    this.emit('human-input-requested', { agent: this, prompt, ...(sender ? { sender } : {}) });
    const answer = await this.humanInput.getInput(prompt);
    let forPartner = this.#humanInputByPartner.get(sender);
    if (forPartner === undefined) {
      forPartner = [];
      this.#humanInputByPartner.set(sender, forPartner);
    }
    forPartner.push(answer);
    return answer;
  }

  // ---------------------------------------------------------------- built-in reply functions

  async #checkTerminationAndHumanReply({ messages, sender }: ReplyContext): Promise<ReplyResult> {
    const message = messages.at(-1) ?? { role: 'user', content: '' };
    const senderName = sender?.name ?? 'the sender';
    const counter = this.#consecutiveAutoReplyCounter.get(sender) ?? 0;
    const limit = this.maxConsecutiveAutoReply(sender);
    let reply = '';
    let noHumanInput = false;
    let exitReason: TerminationReason = 'human-exit';
    if (this.humanInputMode === 'ALWAYS') {
      reply = await this.getHumanInput(
        `Replying as ${this.name}. Provide feedback to ${senderName}. Press enter to skip and use auto-reply, or type 'exit' to end the conversation: `,
        sender,
      );
      noHumanInput = reply === '';
      if (!reply && this.isTerminationMsg(message)) {
        reply = 'exit';
        exitReason = 'termination-message';
      }
    } else if (counter >= limit) {
      exitReason = 'max-consecutive-auto-reply';
      if (this.humanInputMode === 'NEVER') {
        reply = 'exit';
      } else {
        const terminate = this.isTerminationMsg(message);
        reply = await this.getHumanInput(
          terminate
            ? `Please give feedback to ${senderName}. Press enter or type 'exit' to stop the conversation: `
            : `Please give feedback to ${senderName}. Press enter to skip and use auto-reply, or type 'exit' to stop the conversation: `,
          sender,
        );
        noHumanInput = reply === '';
        if (!reply && terminate) reply = 'exit';
        else if (reply === 'exit') exitReason = 'human-exit';
      }
    } else if (this.isTerminationMsg(message)) {
      exitReason = 'termination-message';
      if (this.humanInputMode === 'NEVER') {
        reply = 'exit';
      } else {
        reply = await this.getHumanInput(
          `Please give feedback to ${senderName}. Press enter or type 'exit' to stop the conversation: `,
          sender,
        );
        noHumanInput = reply === '';
        if (reply === 'exit') exitReason = 'human-exit';
        reply = reply || 'exit';
      }
    }
    if (noHumanInput && !this.#isSilent()) this.renderer.notice('\n>>>>>>>> NO HUMAN INPUT RECEIVED.');
    if (reply === 'exit') {
      this.#consecutiveAutoReplyCounter.set(sender, 0);
      this.recordTermination(exitReason, undefined, sender);
      return { final: true, reply: null };
    }
    if (reply || limit === 0) {
      this.#consecutiveAutoReplyCounter.set(sender, 0);
      const response: MessageInput = { role: 'user', content: reply };
      if (message.tool_calls?.length) {
        response.tool_responses = message.tool_calls.map((call) => ({
          role: 'tool' as const,
          tool_call_id: call.id,
          content: 'USER INTERRUPTED',
        }));
      }
      return { final: true, reply: response };
    }
    this.#consecutiveAutoReplyCounter.set(sender, counter + 1);
    if (this.humanInputMode !== 'NEVER' && !this.#isSilent())
      this.renderer.notice('\n>>>>>>>> USING AUTO REPLY...');
    return { final: false };
  }

  /** Makes a `reflection_with_llm` summary of `messages` with this agent's model. */
  async reflectWithLlm(
    messages: Message[],
    prompt: string,
    role: 'system' | 'user' = 'system',
  ): Promise<string> {
    const client = this.#modelClient;
    if (client === null) {
      throw new ModelClientError(
        `Agent '${this.name}' has no llmConfig, so it cannot write a reflection_with_llm summary.`,
      );
    }
    const response = await client.create({
      messages: [...toModelMessages(messages), { role, content: prompt }],
    });
    return response.message.content ?? '';
  }

  // ---------------------------------------------------------------- internals

  #history(partner: ConversableAgent): Message[] {
    let history = this.chatMessages.get(partner);
    if (history === undefined) {
      history = [];
      this.chatMessages.set(partner, history);
    }
    return history;
  }

  #isSilent(): boolean {
    return this.silent === true;
  }

  #applyLastReceivedMessageHooks(messages: Message[]): Message[] {
    const hooks = this.#hooks.processLastReceivedMessage;
    const last = messages.at(-1);
    if (hooks.length === 0 || last === undefined) return messages;
    if (last.tool_calls || typeof last.content !== 'string' || last.content === 'exit') return messages;
    let content = last.content;
    for (const hook of hooks) content = hook(content);
    if (content === last.content) return messages;
    return [...messages.slice(0, -1), { ...last, content }];
  }
}

function shallowCopy<T>(value: T): T {
  if (Array.isArray(value)) return [...value] as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return { ...value };
  return value;
}
