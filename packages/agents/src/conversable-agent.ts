import { EventEmitter } from 'eventemitter3';
import { appendCarryover } from './chats/carryover.js';
import type { ChatQueueItem } from './chats/chat-queue.js';
import type { ChatResult } from './chats/chat-result.js';
import { ChatRun } from './chats/chat-run.js';
import { type InitiateChatOptions, initiateChatWith } from './chats/initiate-chat.js';
import { type InitiateChatsOptions, initiateChatsFrom } from './chats/initiate-chats.js';
import {
  type NestedChatQueueItem,
  type RegisterNestedChatsOptions,
  registerNestedChats,
} from './chats/nested-chats.js';
import { type CodeExecutionConfig, resolveImageSettings } from './code-execution/code-execution-config.js';
import { ConsoleRenderer, type TranscriptRenderer } from './console-renderer.js';
import type { JsonValue } from './durable/run-store.js';
import { ConversationNotFoundError, InvalidOptionError, ModelClientError } from './errors.js';
import type { AgentEvents } from './events.js';
import { type HumanInputProvider, TerminalHumanInput } from './human-input.js';
import type { LlmConfig } from './llm-config.js';
import { type Message, type MessageInput, normalizeMessage, toModelMessages } from './message.js';
import { createModelClient } from './model-clients/create-model-client.js';
import type { ModelClient } from './model-clients/model-client.js';
import { BUILT_IN_REPLY_STEPS } from './reply/built-in-steps.js';
import { matchTrigger, type ReplyTrigger, validateTrigger } from './reply/reply-trigger.js';
import type { RegisterReplyOptions, ReplyFunction } from './reply/reply-types.js';
import {
  type ResponseFormat,
  resolveResponseFormat,
  type StructuredOutput,
} from './reply/structured-output.js';
import { requestedModel, traceAgentTurn, traceModelCall } from './telemetry/spans.js';
import { isTerminateMessage } from './termination.js';
import { toolDefinition } from './tools/tool-definition.js';
import type { FunctionMapEntry, Tool, ToolDefinition } from './tools/tool-types.js';

/** How an agent asks a human: on every message, only to end a conversation, or never. */
export type HumanInputMode = 'ALWAYS' | 'TERMINATE' | 'NEVER';

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
  /**
   * Makes the model answer JSON that matches this zod schema: the reply's content is the JSON text and
   * its `parsed` the validated value; a reply that fails is sent back with its issues. @default free text
   */
  responseFormat?: ResponseFormat;
}

/** Options of {@link ConversableAgent.send} and {@link ConversableAgent.receive}. */
export interface SendOptions {
  /** Ask the recipient to reply. @default the recipient decides (it replies during a chat) */
  requestReply?: boolean;
  /** Print nothing for this message. @default false */
  silent?: boolean;
  /** The conversation the message belongs to; chats set it. @default a new run for the reply, if any */
  run?: ChatRun;
}

/** Options of {@link ConversableAgent.prepareChat}. */
export interface PrepareChatOptions {
  /** Clear the history with the partner first. @default true */
  clearHistory?: boolean;
  /** Prepare the recipient for a chat with this agent too. @default true */
  prepareRecipient?: boolean;
  /** Reply when a message from the partner arrives without `requestReply`. @default true */
  replyAtReceive?: boolean;
}

/** Options of {@link ConversableAgent.generateReply}. */
export interface GenerateReplyOptions {
  /** The conversation to reply to. @default the history with `sender` */
  messages?: Message[];
  /** Who the reply is for. */
  sender?: ConversableAgent;
  /** Reply functions to skip. @default [] */
  exclude?: ReplyFunction<any>[];
  /** The conversation this reply belongs to. @default a new run */
  run?: ChatRun;
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
  /** The checked `responseFormat`, or `undefined` when the model answers free text. */
  readonly responseFormat: StructuredOutput | undefined;
  /** Reply used when no reply function produced one. */
  defaultAutoReply: MessageInput;
  /** When set, overrides the `silent` of every call. */
  silent: boolean | undefined;

  /** Whether this agent prints nothing for a call asking for `requested`: its own `silent` wins when set. */
  isSilent(requested = false): boolean {
    return this.silent ?? requested;
  }
  /** Draws the transcript. */
  renderer: TranscriptRenderer;
  /** Where human input comes from. */
  humanInput: HumanInputProvider;

  #systemMessage: string;
  #description: string;
  #llmConfig: LlmConfig | false;
  #modelClient: ModelClient | null;
  #llmTools = new Map<string, ToolDefinition>();
  #isTerminationMsg: (message: Message) => boolean;
  #defaultMaxConsecutiveAutoReply: number;
  #maxConsecutiveAutoReply = new Map<ConversableAgent | undefined, number>();
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
    this.#isTerminationMsg = options.isTerminationMsg ?? isTerminateMessage;
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
    if (options.codeExecutionConfig) resolveImageSettings(options.codeExecutionConfig);
    this.#codeExecutionConfig = options.codeExecutionConfig ?? false;
    this.responseFormat =
      options.responseFormat === undefined
        ? undefined
        : resolveResponseFormat(options.responseFormat, 'responseFormat');

    for (const step of BUILT_IN_REPLY_STEPS) {
      if (step.appliesTo && !step.appliesTo(this)) continue;
      this.registerReply([ConversableAgent, null], step.replyFunction, {
        name: step.name,
        position: this.#replyFunctions.length,
      });
    }
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
    const silent = this.isSilent(options.silent);
    const stored = normalizeMessage(message, { role: 'user', name: sender.name }, 'receive');
    this.#history(sender).push(stored);
    // The checkpoint after every message of a durable run: the log has the message before anyone answers it.
    if (options.run?.journal) {
      const run = options.run;
      const messageId = run.takeMessageId(sender);
      await run.record('message-sent', {
        sender: sender.name,
        recipient: this.name,
        message: stored as unknown as JsonValue,
        silent,
        ...(messageId ? { messageId } : {}),
      });
    }
    if (!silent) this.renderer.messageReceived(stored, sender.name, this.name);
    this.emit('message-received', { sender, recipient: this, message: stored, silent });
    const requestReply = options.requestReply ?? this.#replyAtReceive.get(sender) ?? false;
    if (!requestReply) return;
    const run = options.run ?? new ChatRun();
    if (run.aborted) {
      run.recordEnding(this, sender, { reason: 'aborted' });
      return;
    }
    const reply = await this.generateReply({ messages: this.#history(sender), sender, run });
    if (reply !== null) await this.send(reply, sender, { silent: options.silent ?? false, run });
  }

  /**
   * Produces a reply by walking the reply pipeline; the first final reply function wins, otherwise
   * `defaultAutoReply`. `null` means the conversation ends.
   */
  generateReply(options: GenerateReplyOptions = {}): Promise<MessageInput | null> {
    return traceAgentTurn(this.name, () => this.#generateReply(options));
  }

  async #generateReply(options: GenerateReplyOptions): Promise<MessageInput | null> {
    const { sender, exclude } = options;
    const run = options.run ?? new ChatRun();
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
      const result = await entry.replyFunction({
        agent: this,
        messages,
        sender,
        config: entry.config,
        run,
        signal: run.signal,
      });
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
  initiateChat<TStructured = unknown>(
    recipient: ConversableAgent,
    options: InitiateChatOptions<TStructured> = {},
  ): Promise<ChatResult<TStructured>> {
    return initiateChatWith(this, recipient, options);
  }

  /** Runs several chats in order (or as a dependency graph), with this agent as the default sender. */
  initiateChats(queue: readonly ChatQueueItem[], options: InitiateChatsOptions = {}): Promise<ChatResult[]> {
    return initiateChatsFrom(this, queue, options);
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
    options: { carryover?: unknown; run?: ChatRun } = {},
  ): Promise<MessageInput> {
    const { carryover, run = new ChatRun() } = options;
    if (message === undefined) return run.askHuman(this, '>', { sender: recipient });
    if (typeof message === 'function') return message(this, recipient, { carryover });
    return appendCarryover(message, carryover);
  }

  /**
   * Gets ready for a chat with `recipient` (AutoGen's `_prepare_chat`): sets whether to reply on
   * receive, and clears history when asked. Group-chat managers extend it.
   */
  prepareChat(recipient: ConversableAgent, options: PrepareChatOptions = {}): void {
    const { clearHistory = true, prepareRecipient = true, replyAtReceive = true } = options;
    this.#replyAtReceive.set(recipient, replyAtReceive);
    if (clearHistory) this.clearHistory(recipient);
    if (prepareRecipient)
      recipient.prepareChat(this, { clearHistory, prepareRecipient: false, replyAtReceive });
  }

  /** The messages a summary of the chat with `agent` is made from. Group-chat managers return the group's transcript. */
  chatMessagesForSummary(agent: ConversableAgent): Message[] {
    return this.chatMessages.get(agent) ?? [];
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

  /** Clears histories and reply-function configs, and the model client's usage. */
  reset(): void {
    this.clearHistory();
    this.stopReplyAtReceive();
    this.#modelClient?.clearUsage();
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
      if (entry === null) {
        this.functionMap.delete(name);
        continue;
      }
      if (this.functionMap.has(name)) warnOverride(name);
      this.functionMap.set(name, entry);
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
    const name = definition.function.name;
    if (this.llmTools.some((known) => known.function.name === name)) warnOverride(name);
    this.#llmTools.set(name, definition);
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

  /** Asks a human through the agent's `humanInput` provider; the answer is kept in `run` when given. */
  async getHumanInput(
    prompt: string,
    options: { sender?: ConversableAgent; run?: ChatRun } = {},
  ): Promise<string> {
    const { run = new ChatRun(), sender } = options;
    return run.askHuman(this, prompt, sender ? { sender } : {});
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
    const request = { messages: [...toModelMessages(messages), { role, content: prompt }] };
    const response = await traceModelCall(requestedModel(this.#llmConfig), request, () =>
      client.create(request),
    );
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

// AutoGen's UserWarning, word for word: registering a name twice replaces the first registration.
function warnOverride(name: string): void {
  process.emitWarning(`Function '${name}' is being overridden.`, { type: 'HopgenWarning' });
}
