import type { ConversableAgent } from '../conversable-agent.js';
import { InvalidOptionError } from '../errors.js';
import type { LlmConfig } from '../llm-config.js';
import { contentToString, type Message } from '../message.js';
import { AgentNameConflictError, UndefinedNextAgentError } from './group-chat-errors.js';
import {
  DEFAULT_INTRO_MSG,
  DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_AUTO_NONE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_MESSAGE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_PROMPT_TEMPLATE,
} from './group-chat-templates.js';
import { mentionedAgents } from './mentioned-agents.js';
import { formatTemplate, pythonListRepr } from './python-format.js';
import { type RandomSource, toRandomSource } from './seeded-random.js';
import { type SelectSpeakerOptions, type SpeakerSelection, selectNextSpeaker } from './speaker-selection.js';
import {
  checkGraphValidity,
  invertDisallowedToAllowed,
  type SpeakerTransitionsType,
} from './speaker-transitions.js';
import { warnOnce } from './warnings.js';

/** The built-in ways to pick the next speaker (case-insensitive, as in AutoGen). */
export type SpeakerSelectionMethodName = 'auto' | 'manual' | 'random' | 'round_robin';

/**
 * A custom speaker selector: gets the last speaker and the group chat and returns the next speaker
 * (a member), the name of a built-in method to use this time, or `null` to end the chat.
 */
export type CustomSpeakerSelector = (
  lastSpeaker: ConversableAgent,
  groupchat: GroupChat,
) =>
  | ConversableAgent
  | SpeakerSelectionMethodName
  | string
  | null
  | Promise<ConversableAgent | SpeakerSelectionMethodName | string | null>;

/** The built-in method names, in AutoGen's order (used in error messages). */
export const VALID_SPEAKER_SELECTION_METHODS: readonly SpeakerSelectionMethodName[] = [
  'auto',
  'manual',
  'random',
  'round_robin',
];

/** Options of {@link GroupChat} (AutoGen's `GroupChat` dataclass fields, camelCased). */
export interface GroupChatOptions {
  /** The participants; their order is the round-robin order. */
  agents: ConversableAgent[];
  /** The shared transcript to start from. @default [] */
  messages?: Message[];
  /** Most messages the chat holds; the initial message counts as round 1. @default 10 */
  maxRound?: number;
  /** Name of the member that takes over when a turn is interrupted. @default 'Admin' */
  adminName?: string;
  /** After a tool-call message, hand the turn to the agent that can run the called functions. @default true */
  funcCallFilter?: boolean;
  /** How the next speaker is picked: a built-in method name (case-insensitive) or a function. @default 'auto' */
  speakerSelectionMethod?: SpeakerSelectionMethodName | CustomSpeakerSelector;
  /** `'auto'` only: how many times the model is asked again after an unusable answer. @default 2 */
  maxRetriesForSelectingSpeaker?: number;
  /**
   * Whether an agent may speak twice in a row: `true`, `false`, or the agents that may.
   * Mutually exclusive with `allowedOrDisallowedSpeakerTransitions`.
   * @default true when no transitions are given
   */
  allowRepeatSpeaker?: boolean | ConversableAgent[];
  /** For each agent, the agents that may (or may not, see `speakerTransitionsType`) speak after it. */
  allowedOrDisallowedSpeakerTransitions?: Map<ConversableAgent, ConversableAgent[]>;
  /** Whether the transitions Map lists allowed or disallowed next speakers; required with a Map. */
  speakerTransitionsType?: SpeakerTransitionsType;
  /** Let a reply containing `clear history [agent] [N]` clear the agents' histories. @default false */
  enableClearHistory?: boolean;
  /** Send `introductionsMsg()` to every member before the first round. @default false */
  sendIntroductions?: boolean;
  /** System message of the `'auto'` selector; `{roles}` and `{agentlist}` are filled in. @default AutoGen's text */
  selectSpeakerMessageTemplate?: string;
  /**
   * Last message of the `'auto'` selector's prompt; `{agentlist}` is filled in. `null` or `''` uses the
   * last group message instead. @default AutoGen's text
   */
  selectSpeakerPromptTemplate?: string | null;
  /** Retry prompt when the model names several agents. @default AutoGen's text */
  selectSpeakerAutoMultipleTemplate?: string;
  /** Retry prompt when the model names no agent; `{agentlist}` is filled in. @default AutoGen's text */
  selectSpeakerAutoNoneTemplate?: string;
  /** Print the inner selector chat. @default false */
  selectSpeakerAutoVerbose?: boolean;
  /**
   * Role of the selector's prompt messages: `'system'`, `'user'` or `'assistant'` (any other role,
   * `null` or `''` is refused here rather than failing at the first selection). @default 'system'
   */
  roleForSelectSpeakerMessages?: string;
  /** Model config of the `'auto'` selector. @default the manager's `llmConfig` */
  selectSpeakerAutoLlmConfig?: LlmConfig | false;
  /** Random numbers for `'random'` selection: a seed (reproducible) or a `() => number` in [0, 1). @default Math.random */
  random?: number | RandomSource;
}

function withDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** Roles a plain text message can have in a chat-completion request, so the selector's prompt is valid. */
const SELECTOR_ROLES = ['system', 'user', 'assistant'];

function requireSelectorRole(role: string): string {
  if (!SELECTOR_ROLES.includes(role)) {
    throw new InvalidOptionError(
      `roleForSelectSpeakerMessages is set to '${role}': the selector's prompt messages would be invalid chat messages. Use one of ${pythonListRepr(SELECTOR_ROLES)} (case-sensitive).`,
    );
  }
  return role;
}

function requireText(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(
      `${option} cannot be empty or null. Leave it out to use AutoGen's default text.`,
    );
  }
  return value;
}

/** Normalises a method name, or throws AutoGen's error for an unknown one. */
export function validateSpeakerSelectionMethod(method: string): SpeakerSelectionMethodName {
  const lower = typeof method === 'string' ? method.toLowerCase() : method;
  if (!(VALID_SPEAKER_SELECTION_METHODS as readonly unknown[]).includes(lower)) {
    throw new InvalidOptionError(
      `GroupChat speakerSelectionMethod is set to '${String(method)}'. It should be one of ${pythonListRepr(VALID_SPEAKER_SELECTION_METHODS)} (case insensitive), or a function.`,
    );
  }
  return lower as SpeakerSelectionMethodName;
}

/**
 * The state and rules of a group conversation: who takes part, the shared transcript, and how the
 * next speaker is picked. A {@link GroupChatManager} runs it.
 */
export class GroupChat {
  /** The participants, in round-robin order. */
  agents: ConversableAgent[];
  /** The shared transcript. */
  messages: Message[];
  /** Most messages the chat holds. */
  maxRound: number;
  /** Name of the member that takes over when a turn is interrupted. */
  adminName: string;
  /** Whether tool-call messages go to the agent that can run them. */
  funcCallFilter: boolean;
  /** How the next speaker is picked. */
  speakerSelectionMethod: SpeakerSelectionMethodName | CustomSpeakerSelector;
  /** `'auto'` only: retries after an unusable answer. */
  maxRetriesForSelectingSpeaker: number;
  /** Whether (or which) agents may speak twice in a row; `undefined` when a transitions graph is used. */
  allowRepeatSpeaker: boolean | ConversableAgent[] | undefined;
  /** The transitions as given. */
  allowedOrDisallowedSpeakerTransitions: Map<ConversableAgent, ConversableAgent[]> | undefined;
  /** Whether the given transitions are allowed or disallowed ones. */
  speakerTransitionsType: SpeakerTransitionsType | undefined;
  /** The resolved graph: for each agent, who may speak after it. */
  allowedSpeakerTransitionsDict: Map<ConversableAgent, ConversableAgent[]>;
  /** Whether `clear history` commands are honoured. */
  enableClearHistory: boolean;
  /** Whether introductions are sent before the first round. */
  sendIntroductions: boolean;
  /** Template of the selector's system message. */
  selectSpeakerMessageTemplate: string;
  /** Template of the selector's last prompt message, or `null` to use the last group message. */
  selectSpeakerPromptTemplate: string | null;
  /** Retry prompt for several names. */
  selectSpeakerAutoMultipleTemplate: string;
  /** Retry prompt for no name. */
  selectSpeakerAutoNoneTemplate: string;
  /** Print the inner selector chat. */
  selectSpeakerAutoVerbose: boolean;
  /** Role of the selector's prompt messages. */
  roleForSelectSpeakerMessages: string;
  /** Model config of the `'auto'` selector (else the manager's). */
  selectSpeakerAutoLlmConfig: LlmConfig | false | undefined;
  /** The random source used by `'random'` selection. */
  readonly random: RandomSource;
  /** The seed of `random`, when one was given: a run then draws by position (see `seededRandomAt`). */
  readonly randomSeed: number | undefined;

  /** Transitions as sets, so a selection costs O(agents) however long the chat is. */
  #transitionSets = new WeakMap<
    Map<ConversableAgent, ConversableAgent[]>,
    Map<ConversableAgent, Set<ConversableAgent>>
  >();

  constructor(options: GroupChatOptions) {
    if (!options || !Array.isArray(options.agents)) {
      throw new InvalidOptionError('GroupChat needs `agents`: an array of the participating agents.');
    }
    this.agents = options.agents;
    this.messages = options.messages ?? [];
    this.maxRound = options.maxRound ?? 10;
    if (
      !(Number.isInteger(this.maxRound) || this.maxRound === Number.POSITIVE_INFINITY) ||
      this.maxRound < 1
    ) {
      throw new InvalidOptionError(
        `GroupChat maxRound must be a positive integer (got ${String(this.maxRound)}).`,
      );
    }
    this.adminName = options.adminName ?? 'Admin';
    this.funcCallFilter = options.funcCallFilter ?? true;
    const method = options.speakerSelectionMethod ?? 'auto';
    this.speakerSelectionMethod =
      typeof method === 'function' ? method : validateSpeakerSelectionMethod(method);
    this.maxRetriesForSelectingSpeaker = options.maxRetriesForSelectingSpeaker ?? 2;
    this.enableClearHistory = options.enableClearHistory ?? false;
    this.sendIntroductions = options.sendIntroductions ?? false;
    this.selectSpeakerAutoLlmConfig = options.selectSpeakerAutoLlmConfig;
    this.random = toRandomSource(options.random);
    this.randomSeed = typeof options.random === 'number' ? options.random : undefined;

    const allowRepeat = options.allowRepeatSpeaker;
    if (allowRepeat !== undefined && typeof allowRepeat !== 'boolean' && !Array.isArray(allowRepeat)) {
      throw new InvalidOptionError('GroupChat allowRepeatSpeaker should be a boolean or an array of agents.');
    }
    const transitionsType = options.speakerTransitionsType;
    const loweredType = typeof transitionsType === 'string' ? transitionsType.toLowerCase() : transitionsType;
    if (loweredType !== undefined && loweredType !== 'allowed' && loweredType !== 'disallowed') {
      throw new InvalidOptionError(
        `GroupChat speakerTransitionsType is set to '${String(transitionsType)}'. It should be 'allowed' or 'disallowed' (case insensitive), or left out.`,
      );
    }
    this.speakerTransitionsType = loweredType as SpeakerTransitionsType | undefined;
    const transitions = options.allowedOrDisallowedSpeakerTransitions;
    this.allowedOrDisallowedSpeakerTransitions = transitions;
    this.allowRepeatSpeaker = transitions === undefined && allowRepeat === undefined ? true : allowRepeat;
    if (transitions !== undefined && this.allowRepeatSpeaker !== undefined) {
      throw new InvalidOptionError(
        "Don't provide both allowedOrDisallowedSpeakerTransitions and allowRepeatSpeaker in group chat. Please leave one of them out.",
      );
    }
    if (transitions !== undefined && this.speakerTransitionsType === undefined) {
      throw new InvalidOptionError(
        "GroupChat allowedOrDisallowedSpeakerTransitions is set, but speakerTransitionsType is not. Please set speakerTransitionsType to either 'allowed' or 'disallowed'.",
      );
    }
    if (transitions === undefined) {
      const graph = new Map<ConversableAgent, ConversableAgent[]>();
      const repeaters = Array.isArray(this.allowRepeatSpeaker) ? new Set(this.allowRepeatSpeaker) : undefined;
      for (const agent of this.agents) {
        const targets = this.agents.filter((other) => other !== agent);
        if (this.allowRepeatSpeaker === true || repeaters?.has(agent)) targets.push(agent);
        graph.set(agent, targets);
      }
      this.allowedSpeakerTransitionsDict = graph;
    } else if (!(transitions instanceof Map)) {
      throw new InvalidOptionError(
        'allowedOrDisallowedSpeakerTransitions must be a Map from an agent to the agents it can (or cannot) hand over to.',
      );
    } else if (this.speakerTransitionsType === 'allowed') {
      this.allowedSpeakerTransitionsDict = transitions;
    } else {
      this.allowedSpeakerTransitionsDict = invertDisallowedToAllowed(transitions, this.agents);
    }
    for (const warning of checkGraphValidity(this.allowedSpeakerTransitionsDict, this.agents)) {
      warnOnce(this, warning);
    }

    // Only a left-out option means the default: null and '' are refused, as AutoGen refuses None and ''.
    this.selectSpeakerMessageTemplate = requireText(
      withDefault(options.selectSpeakerMessageTemplate, DEFAULT_SELECT_SPEAKER_MESSAGE_TEMPLATE),
      'selectSpeakerMessageTemplate',
    );
    const prompt =
      options.selectSpeakerPromptTemplate === undefined
        ? DEFAULT_SELECT_SPEAKER_PROMPT_TEMPLATE
        : options.selectSpeakerPromptTemplate;
    this.selectSpeakerPromptTemplate = prompt === null || prompt === '' ? null : prompt;
    this.roleForSelectSpeakerMessages = requireSelectorRole(
      requireText(
        withDefault(options.roleForSelectSpeakerMessages, 'system'),
        'roleForSelectSpeakerMessages',
      ),
    );
    this.selectSpeakerAutoMultipleTemplate = requireText(
      withDefault(options.selectSpeakerAutoMultipleTemplate, DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE),
      'selectSpeakerAutoMultipleTemplate',
    );
    this.selectSpeakerAutoNoneTemplate = requireText(
      withDefault(options.selectSpeakerAutoNoneTemplate, DEFAULT_SELECT_SPEAKER_AUTO_NONE_TEMPLATE),
      'selectSpeakerAutoNoneTemplate',
    );
    const retries = this.maxRetriesForSelectingSpeaker;
    if (typeof retries !== 'number' || !Number.isInteger(retries)) {
      throw new InvalidOptionError('maxRetriesForSelectingSpeaker must be a whole number.');
    }
    if (retries < 0) {
      throw new InvalidOptionError('maxRetriesForSelectingSpeaker must be greater than or equal to zero.');
    }
    const verbose = options.selectSpeakerAutoVerbose ?? false;
    if (typeof verbose !== 'boolean') {
      throw new InvalidOptionError('selectSpeakerAutoVerbose must be a boolean.');
    }
    this.selectSpeakerAutoVerbose = verbose;
  }

  /** The members' names, in order. */
  get agentNames(): string[] {
    return this.agents.map((agent) => agent.name);
  }

  /** Empties the transcript (in place, so references to `messages` see it). */
  reset(): void {
    this.messages.length = 0;
  }

  /**
   * Adds a message to the transcript as spoken by `speaker`: `name` becomes the speaker's name (except
   * for role `function`) and the content becomes text, as in AutoGen. The message is copied, so the
   * stored histories of the agents keep their original (possibly multimodal) content.
   */
  append(message: Message, speaker: ConversableAgent): void {
    const entry: Message = { ...message, content: contentToString(message.content) };
    if (entry.role !== 'function') entry.name = speaker.name;
    this.messages.push(entry);
  }

  /**
   * The member called `name`, or `undefined`. `recursive` also searches the groups of nested
   * managers; `raiseOnNameConflict` throws {@link AgentNameConflictError} when the name is taken twice.
   */
  agentByName(
    name: string,
    options: { recursive?: boolean; raiseOnNameConflict?: boolean } = {},
  ): ConversableAgent | undefined {
    const agents = options.recursive ? this.nestedAgents() : this.agents;
    let found: ConversableAgent | undefined;
    for (const agent of agents) {
      if (agent.name !== name) continue;
      if (found === undefined) {
        found = agent;
        if (!options.raiseOnNameConflict) break;
      } else if (found !== agent) {
        throw new AgentNameConflictError();
      }
    }
    return found;
  }

  /** The members plus, for every member that manages a group chat, that group's members (depth first, each once). */
  nestedAgents(): ConversableAgent[] {
    const result: ConversableAgent[] = [];
    const seen = new Set<ConversableAgent>();
    const visitedGroups = new Set<GroupChat>([this]);
    const walk = (agents: readonly ConversableAgent[]) => {
      for (const agent of agents) {
        if (!seen.has(agent)) {
          seen.add(agent);
          result.push(agent);
        }
        const nested = (agent as { groupchat?: unknown }).groupchat;
        if (nested instanceof GroupChat && !visitedGroups.has(nested)) {
          visitedGroups.add(nested);
          walk(nested.agents);
        }
      }
    };
    walk(this.agents);
    return result;
  }

  /**
   * The agent after `agent` in member order, restricted to `agents` when given. An agent that is not
   * a member counts as standing before the first one. Throws {@link UndefinedNextAgentError} when
   * `agents` contains non-members or none of them can be found.
   */
  nextAgent(agent: ConversableAgent, agents?: readonly ConversableAgent[]): ConversableAgent {
    const members = this.agents;
    const candidates = agents ?? members;
    for (const candidate of candidates) {
      if (!members.includes(candidate)) throw new UndefinedNextAgentError();
    }
    const count = members.length;
    // AutoGen locates the agent by name, so a stand-in with a member's name continues from that member.
    let index = -1;
    for (let i = 0; i < count; i++) {
      if (members[i]!.name === agent.name) {
        index = i;
        break;
      }
    }
    if (candidates === members || sameAgents(candidates, members)) {
      if (count === 0) throw new UndefinedNextAgentError();
      return members[(index + 1) % count]!;
    }
    const wanted = candidates.length > 4 ? new Set(candidates) : undefined;
    for (let step = 0; step < count; step++) {
      const next = members[(index + 1 + step) % count]!;
      if (wanted ? wanted.has(next) : candidates.includes(next)) return next;
    }
    throw new UndefinedNextAgentError();
  }

  /** `name: description` lines of the given agents (AutoGen's `_participant_roles`). */
  participantRoles(agents: readonly ConversableAgent[] = this.agents): string {
    return agents
      .map((agent) => {
        if (agent.description.trim() === '') {
          warnOnce(
            this,
            `The agent '${agent.name}' has an empty description, and may not work well with GroupChat.`,
          );
        }
        return `${agent.name}: ${agent.description}`.trim();
      })
      .join('\n');
  }

  /** The `'auto'` selector's system message for the given candidates. */
  selectSpeakerMsg(agents: readonly ConversableAgent[] = this.agents): string {
    return formatTemplate(this.selectSpeakerMessageTemplate, {
      roles: this.participantRoles(agents),
      agentlist: pythonListRepr(agents.map((agent) => agent.name)),
    });
  }

  /** The `'auto'` selector's last prompt message, or `null` when the template is disabled. */
  selectSpeakerPrompt(agents: readonly ConversableAgent[] = this.agents): string | null {
    if (this.selectSpeakerPromptTemplate === null) return null;
    return formatTemplate(this.selectSpeakerPromptTemplate, {
      agentlist: pythonListRepr(agents.map((agent) => agent.name)),
    });
  }

  /** The introduction every member receives when `sendIntroductions` is set. */
  introductionsMsg(agents: readonly ConversableAgent[] = this.agents): string {
    return `${DEFAULT_INTRO_MSG}\n\n${this.participantRoles(agents)}`;
  }

  /** How often each of `agents` (default: all members) is named in `content`; see {@link mentionedAgents}. */
  mentionedAgents(
    content: Parameters<typeof mentionedAgents>[0],
    agents: readonly ConversableAgent[] = this.agents,
  ): Record<string, number> {
    return mentionedAgents(content, agents);
  }

  /** Picks a member uniformly at random from `agents` (default: all members), using {@link random}. */
  randomSelectSpeaker(agents: readonly ConversableAgent[] = this.agents): ConversableAgent {
    return agents[Math.floor(this.random() * agents.length)]!;
  }

  /** The set of agents allowed to speak after `agent` under the resolved graph, or `undefined` for a sink. */
  allowedNextSpeakers(agent: ConversableAgent): ReadonlySet<ConversableAgent> | undefined {
    const graph = this.allowedSpeakerTransitionsDict;
    let sets = this.#transitionSets.get(graph);
    if (sets === undefined) {
      sets = new Map();
      this.#transitionSets.set(graph, sets);
    }
    let allowed = sets.get(agent);
    if (allowed === undefined) {
      const targets = graph.get(agent);
      if (targets === undefined) return undefined;
      allowed = new Set(targets);
      sets.set(agent, allowed);
    }
    return allowed;
  }

  /**
   * Picks the next speaker after `lastSpeaker` (AutoGen's `select_speaker`). `selector` is the agent
   * whose model, human input and renderer serve the selection (normally the manager).
   */
  async selectSpeaker(
    lastSpeaker: ConversableAgent,
    selector: ConversableAgent,
    options: SelectSpeakerOptions = {},
  ): Promise<ConversableAgent> {
    return (await selectNextSpeaker(this, lastSpeaker, selector, options)).speaker;
  }

  /** Like {@link selectSpeaker}, and also says which method picked the speaker and why. */
  selectSpeakerWithReason(
    lastSpeaker: ConversableAgent,
    selector: ConversableAgent,
    options: SelectSpeakerOptions = {},
  ): Promise<SpeakerSelection> {
    return selectNextSpeaker(this, lastSpeaker, selector, options);
  }
}

function sameAgents(left: readonly ConversableAgent[], right: readonly ConversableAgent[]): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}
