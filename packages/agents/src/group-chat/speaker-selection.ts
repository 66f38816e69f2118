import { ChatRun } from '../chats/chat-run.js';
import { ConversableAgent } from '../conversable-agent.js';
import { InvalidOptionError } from '../errors.js';
import type { LlmConfig } from '../llm-config.js';
import { contentToString, type Message } from '../message.js';
import { createModelClient } from '../model-clients/create-model-client.js';
import type { ModelClient } from '../model-clients/model-client.js';
import type { GroupChat, SpeakerSelectionMethodName } from './group-chat.js';
import { NoEligibleSpeakerError, SpeakerSelectionError } from './group-chat-errors.js';
import { mentionedAgents } from './mentioned-agents.js';
import { formatTemplate, pythonListRepr } from './python-format.js';
import { seededRandomAt } from './seeded-random.js';
import { warnOnce } from './warnings.js';

/**
 * Why a speaker was picked, as reported in the `speaker-selected` event.
 * - `custom-function`: the custom selector returned this agent.
 * - `function-call-filter`: the last message calls functions only this agent can run.
 * - `only-eligible`: the transitions (and repeat rules) left a single candidate.
 * - `round-robin`, `random`, `manual`: the method picked it.
 * - `manual-fallback`: the human gave no usable answer; the next eligible agent in member order was taken.
 * - `model-selected`: the model named exactly one eligible agent.
 * - `model-fallback-no-name` / `model-fallback-multiple-names`: every attempt named nobody / several
 *   agents; the next eligible agent in member order was taken.
 */
export type SpeakerSelectionReason =
  | 'custom-function'
  | 'function-call-filter'
  | 'only-eligible'
  | 'round-robin'
  | 'random'
  | 'manual'
  | 'manual-fallback'
  | 'model-selected'
  | 'model-fallback-no-name'
  | 'model-fallback-multiple-names';

/** The outcome of one speaker selection. */
export interface SpeakerSelection {
  /** The next speaker; always one of the eligible agents. */
  speaker: ConversableAgent;
  /** The method that ran: a built-in name or `'custom'`. */
  method: SpeakerSelectionMethodName | 'custom';
  /** Why this speaker. */
  reason: SpeakerSelectionReason;
  /** A sentence for people, e.g. the model's last unusable answer. */
  detail?: string;
}

/** Options of the speaker selection functions. */
export interface SelectSpeakerOptions {
  /** The group chat's run: its signal stops the selection, and human answers go through it. @default a new run */
  run?: ChatRun;
  /** Stops the selection; used when no `run` is given. @default none */
  signal?: AbortSignal;
}

interface Prepared {
  /** Chosen without running the method. */
  chosen?: { speaker: ConversableAgent; reason: SpeakerSelectionReason };
  method: SpeakerSelectionMethodName;
  /** Who may speak next; never empty. */
  eligible: ConversableAgent[];
}

const MANUAL_PROMPT = 'Enter the number of the next speaker (enter nothing or `q` to use auto selection): ';

/**
 * AutoGen's `_prepare_and_select_agents`, with two fixes: a custom selector may be async, and when
 * the transitions leave nobody the fallback pool still respects `allowRepeatSpeaker: false` (the
 * previous speaker is never offered again, autogen#7471).
 */
async function prepareAndSelectAgents(
  groupchat: GroupChat,
  lastSpeaker: ConversableAgent,
): Promise<
  Prepared | { chosen: { speaker: ConversableAgent; reason: 'custom-function' }; method: 'custom' }
> {
  let method: string;
  const configured = groupchat.speakerSelectionMethod;
  if (typeof configured === 'function') {
    const selected = await configured(lastSpeaker, groupchat);
    if (selected === null || selected === undefined) {
      throw new NoEligibleSpeakerError(
        'Custom speaker selection function returned None. Terminating conversation.',
        'selector-ended',
      );
    }
    if (selected instanceof ConversableAgent) {
      if (!groupchat.agents.includes(selected)) {
        throw new SpeakerSelectionError(
          `Custom speaker selection function returned an agent ${selected.name} not in the group chat. Return one of groupchat.agents, a method name or null.`,
        );
      }
      return { chosen: { speaker: selected, reason: 'custom-function' }, method: 'custom' };
    }
    if (typeof selected !== 'string') {
      throw new SpeakerSelectionError(
        `Custom speaker selection function returned an object of type ${typeof selected} instead of Agent or str.`,
      );
    }
    method = selected;
  } else {
    method = configured;
  }
  let methodName: SpeakerSelectionMethodName;
  try {
    methodName = validateMethod(method);
  } catch (error) {
    throw new SpeakerSelectionError((error as Error).message);
  }

  const members = groupchat.agents;
  const allowRepeatSetting = groupchat.allowRepeatSpeaker;
  const allowRepeat = Array.isArray(allowRepeatSetting)
    ? allowRepeatSetting.includes(lastSpeaker)
    : allowRepeatSetting;
  if (members.length < 2) {
    throw new SpeakerSelectionError(
      `GroupChat is underpopulated with ${members.length} agents. Please add more agents to the GroupChat or use direct communication instead.`,
    );
  }
  if (members.length === 2 && methodName !== 'round_robin' && allowRepeat) {
    warnOnce(
      groupchat,
      "GroupChat is underpopulated with 2 agents. Consider setting speakerSelectionMethod to 'round_robin' or allowRepeatSpeaker to false, or use direct communication, unless repeated speaker is desired.",
    );
  }

  let candidates: ConversableAgent[] = members;
  const lastMessage = groupchat.messages.at(-1);
  if (groupchat.funcCallFilter && lastMessage) {
    const functionNames = calledFunctionNames(lastMessage);
    if (functionNames !== undefined) {
      candidates = members.filter((agent) => agent.canExecuteFunction(functionNames));
      // Nobody can run every called function: fall back to the agents that can run any.
      if (candidates.length === 0) candidates = members.filter((agent) => agent.functionMap.size > 0);
      if (candidates.length === 0) {
        throw new SpeakerSelectionError(
          `No agent can execute the function ${functionNames.join(', ')}. Register it on one of the agents (registerFunction or functionMap).`,
        );
      }
      if (candidates.length === 1) {
        return {
          chosen: { speaker: candidates[0]!, reason: 'function-call-filter' },
          method: methodName,
          eligible: candidates,
        };
      }
    }
  }
  if (allowRepeat === false) candidates = candidates.filter((agent) => agent !== lastSpeaker);

  const lastIsMember = members.includes(lastSpeaker);
  const allowed = groupchat.allowedNextSpeakers(lastSpeaker);
  let graphEligible: ConversableAgent[];
  if (allowed === undefined) {
    if (lastIsMember) {
      throw new NoEligibleSpeakerError(
        `Last speaker ${lastSpeaker.name} is not in allowedOrDisallowedSpeakerTransitions: give it an entry (its targets).`,
      );
    }
    graphEligible = [];
  } else {
    graphEligible = candidates.filter((agent) => allowed.has(agent));
  }
  if (graphEligible.length === 1) {
    return {
      chosen: { speaker: graphEligible[0]!, reason: 'only-eligible' },
      method: methodName,
      eligible: graphEligible,
    };
  }
  if (graphEligible.length > 0) return { method: methodName, eligible: graphEligible };
  // AutoGen falls back to every member here, the previous speaker included even when repeats are off.
  let pool = candidates.length > 0 ? candidates : members;
  if (allowRepeat === false && pool.includes(lastSpeaker) && pool.length > 1) {
    pool = pool.filter((agent) => agent !== lastSpeaker);
  }
  if (pool.length === 1) {
    return { chosen: { speaker: pool[0]!, reason: 'only-eligible' }, method: methodName, eligible: pool };
  }
  return { method: methodName, eligible: pool };
}

function validateMethod(method: string): SpeakerSelectionMethodName {
  const lower = typeof method === 'string' ? method.toLowerCase() : method;
  if (lower === 'auto' || lower === 'manual' || lower === 'random' || lower === 'round_robin') return lower;
  throw new InvalidOptionError(
    `GroupChat speakerSelectionMethod is set to '${String(method)}'. It should be one of ['auto', 'manual', 'random', 'round_robin'] (case insensitive), or a function.`,
  );
}

function calledFunctionNames(message: Message): string[] | undefined {
  const legacy = (message as { function_call?: { name?: string } }).function_call;
  if (!legacy && !message.tool_calls) return undefined;
  const names: string[] = [];
  if (legacy?.name) names.push(legacy.name);
  for (const call of message.tool_calls ?? []) if (call.type === 'function') names.push(call.function.name);
  return names;
}

/**
 * Picks the next speaker of `groupchat` after `lastSpeaker` (AutoGen's `select_speaker`), and says
 * how. `selector` (the manager) provides the model, the human input and the renderer.
 */
export async function selectNextSpeaker(
  groupchat: GroupChat,
  lastSpeaker: ConversableAgent,
  selector: ConversableAgent,
  options: SelectSpeakerOptions = {},
): Promise<SpeakerSelection> {
  const run = options.run ?? new ChatRun(options.signal ? { signal: options.signal } : {});
  const prepared = await prepareAndSelectAgents(groupchat, lastSpeaker);
  if (prepared.chosen)
    return { speaker: prepared.chosen.speaker, method: prepared.method, reason: prepared.chosen.reason };
  const { method, eligible } = prepared as Prepared;
  switch (method) {
    case 'round_robin':
      return { speaker: groupchat.nextAgent(lastSpeaker, eligible), method, reason: 'round-robin' };
    case 'random': {
      const value = await drawRandom(groupchat, selector, run);
      return { speaker: eligible[Math.floor(value * eligible.length)]!, method, reason: 'random' };
    }
    case 'manual': {
      const chosen = await manualSelectSpeaker(groupchat, selector, eligible, run);
      if (chosen) return { speaker: chosen, method, reason: 'manual' };
      return {
        speaker: groupchat.nextAgent(lastSpeaker, eligible),
        method,
        reason: 'manual-fallback',
        detail: 'No speaker was chosen by number; took the next eligible agent in member order.',
      };
    }
    default:
      return autoSelectSpeaker(groupchat, lastSpeaker, selector, eligible, run);
  }
}

/**
 * A number in [0, 1) for `'random'` selection. A seeded group draws the run's next position, so a
 * resumed run goes on with the same sequence; any other source is a step, so its draws are stored.
 */
async function drawRandom(groupchat: GroupChat, selector: ConversableAgent, run: ChatRun): Promise<number> {
  const seed = groupchat.randomSeed;
  if (seed !== undefined) {
    const progress = run.groupChat(selector);
    progress.randomDraws += 1;
    return seededRandomAt(seed, progress.randomDraws - 1);
  }
  return run.step('random-draw', { agent: selector.name }, async () => groupchat.random(), 'repeat');
}

/** Asks a human to pick the next speaker by number; at most two answers are read, as in AutoGen. */
export async function manualSelectSpeaker(
  groupchat: GroupChat,
  selector: ConversableAgent,
  agents: readonly ConversableAgent[] = groupchat.agents,
  run: ChatRun = new ChatRun(),
): Promise<ConversableAgent | undefined> {
  const print = (text: string) => selector.renderer.notice(text);
  print('Please select the next speaker from the following list:');
  agents.forEach((agent, index) => {
    print(`${index + 1}: ${agent.name}`);
  });
  for (let attempt = 1; ; attempt++) {
    if (attempt >= 3) {
      print(`You have tried ${attempt} times. The next speaker will be selected automatically.`);
      return undefined;
    }
    // A speaker pick is not part of the chat's answers (AutoGen reads it with iostream.input).
    const answer = await run.askHuman(selector, MANUAL_PROMPT, { record: false });
    if (answer === '' || answer === 'q') return undefined;
    const trimmed = answer.trim();
    const number = /^[+-]?\d+$/.test(trimmed) ? Number.parseInt(trimmed, 10) : Number.NaN;
    if (number > 0 && number <= agents.length) return agents[number - 1];
    print(`Invalid input. Please enter a number between 1 and ${agents.length}.`);
  }
}

const selectorClients = new WeakMap<LlmConfig, ModelClient>();

/**
 * The model config of the inner selector: `selectSpeakerAutoLlmConfig` or the manager's, reusing
 * the manager's client so selection calls appear in the chat's cost. Throws (AG2's behaviour) when
 * there is none, instead of silently falling back to round robin as AutoGen 0.2 does.
 */
export function selectorLlmConfig(groupchat: GroupChat, selector: ConversableAgent): LlmConfig {
  const own = groupchat.selectSpeakerAutoLlmConfig;
  if (own) {
    let client = selectorClients.get(own);
    if (client === undefined) {
      client = createModelClient(own);
      selectorClients.set(own, client);
    }
    return { ...own, modelClient: client, tools: [] };
  }
  const managerConfig = selector.llmConfig;
  if (managerConfig && selector.modelClient) {
    return { ...managerConfig, modelClient: selector.modelClient, tools: [] };
  }
  throw new SpeakerSelectionError(MISSING_SELECTOR_CONFIG);
}

/** The error text when `'auto'` selection has no model. */
export const MISSING_SELECTOR_CONFIG =
  "The group chat's internal speaker selection agent does not have an LLM configuration. Pass llmConfig to the GroupChatManager, set selectSpeakerAutoLlmConfig on the GroupChat, or choose speakerSelectionMethod 'round_robin', 'random', 'manual' or a function.";

/**
 * The `'auto'` method: a two-agent inner chat between a `checking_agent` that validates each answer
 * and a `speaker_selection_agent` that asks the model, with up to `maxRetriesForSelectingSpeaker`
 * retries (AutoGen's `_auto_select_speaker`). Only eligible agents can be returned; when every
 * attempt fails, the next eligible agent in member order is taken and the reason says why.
 */
export async function autoSelectSpeaker(
  groupchat: GroupChat,
  lastSpeaker: ConversableAgent,
  selector: ConversableAgent,
  eligible: readonly ConversableAgent[],
  run: ChatRun,
): Promise<SpeakerSelection> {
  const llmConfig = selectorLlmConfig(groupchat, selector);
  const maxAttempts = 1 + groupchat.maxRetriesForSelectingSpeaker;
  const verbose = groupchat.selectSpeakerAutoVerbose;
  const role = groupchat.roleForSelectSpeakerMessages;
  const agentlist = pythonListRepr(eligible.map((agent) => agent.name));
  let attempt = 0;
  let attemptsLeft = maxAttempts;
  let selected: ConversableAgent | undefined;
  let failure = 'none' as 'none' | 'multiple';
  let lastAnswer = '';

  const checkingAgent = new ConversableAgent({
    name: 'checking_agent',
    defaultAutoReply: String(maxAttempts),
    humanInputMode: 'NEVER',
    renderer: selector.renderer,
  });
  checkingAgent.registerReply(
    [ConversableAgent, null],
    ({ messages }) => {
      attempt += 1;
      attemptsLeft -= 1;
      lastAnswer = contentToString(messages.at(-1)?.content).trim();
      const mentions = mentionedAgents(lastAnswer, eligible);
      const names = Object.keys(mentions);
      if (names.length === 1) {
        selected = eligible.find((agent) => agent.name === names[0]);
        messages.push({ role: 'user', content: `[AGENT SELECTED]${names[0]}` });
        if (verbose) {
          selector.renderer.notice(
            `>>>>>>>> Select speaker attempt ${attempt} of ${attempt + attemptsLeft} successfully selected: ${names[0]}`,
          );
        }
        return { final: true, reply: null };
      }
      failure = names.length > 1 ? 'multiple' : 'none';
      if (verbose) {
        selector.renderer.notice(
          failure === 'multiple'
            ? `>>>>>>>> Select speaker attempt ${attempt} of ${attempt + attemptsLeft} failed as it included multiple agent names.`
            : `>>>>>>>> Select speaker attempt #${attempt} failed as it did not include any agent names.`,
          'warning',
        );
      }
      if (attemptsLeft > 0) {
        const template =
          failure === 'multiple'
            ? groupchat.selectSpeakerAutoMultipleTemplate
            : groupchat.selectSpeakerAutoNoneTemplate;
        return {
          final: true,
          reply: { content: formatTemplate(template, { agentlist }), override_role: role },
        };
      }
      messages.push({
        role: 'user',
        content:
          failure === 'multiple'
            ? `[AGENT SELECTION FAILED]Select speaker attempt #${attempt} of ${attempt + attemptsLeft} failed as it returned multiple names.`
            : `[AGENT SELECTION FAILED]Select speaker attempt #${attempt} of ${attempt + attemptsLeft} failed as it did not include any agent names.`,
      });
      return { final: true, reply: null };
    },
    { removeOtherReplyFunctions: true, name: 'validateSpeakerName' },
  );

  // The selector sees the group transcript; a pending tool call is blanked so the API accepts it.
  const history: Message[] = groupchat.messages.slice();
  const last = history.at(-1);
  if (last?.tool_calls) {
    const { tool_calls: _blanked, ...rest } = last;
    history[history.length - 1] = { ...rest, content: rest.content ?? '' };
  }
  const prompt = groupchat.selectSpeakerPrompt(eligible);
  const startMessage =
    prompt !== null
      ? { content: prompt, name: 'checking_agent', override_role: role }
      : history.length > 0
        ? history.pop()!
        : { content: '', name: 'checking_agent', override_role: role };
  const speakerSelectionAgent = new ConversableAgent({
    name: 'speaker_selection_agent',
    systemMessage: groupchat.selectSpeakerMsg(eligible),
    chatMessages: new Map([[checkingAgent, history]]),
    llmConfig,
    humanInputMode: 'NEVER',
    maxConsecutiveAutoReply: Number.POSITIVE_INFINITY,
    renderer: selector.renderer,
  });
  await checkingAgent.initiateChat(speakerSelectionAgent, {
    message: startMessage,
    maxTurns: 2 * Math.max(1, maxAttempts),
    clearHistory: false,
    silent: !verbose,
    summaryMethod: null,
    parentRun: run,
  });
  if (selected) return { speaker: selected, method: 'auto', reason: 'model-selected' };
  const fallback = groupchat.nextAgent(lastSpeaker, eligible);
  const what = failure === 'multiple' ? 'named several agents' : 'named no eligible agent';
  return {
    speaker: fallback,
    method: 'auto',
    reason: failure === 'multiple' ? 'model-fallback-multiple-names' : 'model-fallback-no-name',
    detail: `The model ${what} in all ${attempt} attempt(s) (last answer: ${JSON.stringify(lastAnswer)}); took ${fallback.name}, the next eligible agent after ${lastSpeaker.name} in member order.`,
  };
}
