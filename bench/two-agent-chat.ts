import { ConversableAgent, type Message } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import type { FigureSet } from './figures.js';
import { sample } from './sampler.js';
import type { BenchSettings } from './settings.js';

/** A user proxy without a model and an assistant answering from a script: a chat with no model latency. */
export interface ScriptedPair {
  user: ConversableAgent;
  assistant: ConversableAgent;
  client: ScriptedModelClient;
}

/**
 * Builds the pair. `maxRecordedRequests: 0` keeps no request log, so a long chat measures the
 * agents' own memory rather than the test client's record of prompts; omitted, the client's default.
 */
export function createScriptedPair(options: { maxRecordedRequests?: number } = {}): ScriptedPair {
  const client = new ScriptedModelClient({
    replies: () => 'Noted. What next?',
    ...(options.maxRecordedRequests === undefined
      ? {}
      : { maxRecordedRequests: options.maxRecordedRequests }),
  });
  const unlimited = Number.MAX_SAFE_INTEGER;
  const assistant = new ConversableAgent({
    name: 'assistant',
    llmConfig: { modelClient: client },
    humanInputMode: 'NEVER',
    maxConsecutiveAutoReply: unlimited,
    silent: true,
  });
  const user = new ConversableAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    defaultAutoReply: 'Go on.',
    maxConsecutiveAutoReply: unlimited,
    silent: true,
  });
  return { user, assistant, client };
}

/** Milliseconds of every turn (user message out, assistant reply back) of one chat. */
export async function timeTurns(pair: ScriptedPair, turns: number): Promise<number[]> {
  const durations: number[] = [];
  let turnStartedAt = performance.now();
  const onReceived = ({ sender }: { sender: ConversableAgent }) => {
    if (sender !== pair.assistant) return;
    const now = performance.now();
    durations.push(now - turnStartedAt);
    turnStartedAt = now;
  };
  pair.user.on('message-received', onReceived);
  try {
    turnStartedAt = performance.now();
    const result = await pair.user.initiateChat(pair.assistant, {
      message: 'Start.',
      maxTurns: turns,
      silent: true,
    });
    if (result.chatHistory.length !== turns * 2) {
      throw new Error(`expected ${turns * 2} messages, the chat has ${result.chatHistory.length}`);
    }
  } finally {
    pair.user.off('message-received', onReceived);
  }
  return durations;
}

/**
 * Overhead per turn of a two-agent chat on `ScriptedModelClient`, next to the model-client call it
 * wraps, alone, with a prompt of the chat's mean history length: the difference is what the agents
 * cost (reply pipeline, prompt building, history, events).
 */
export async function measureTwoAgentChat(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { chats, turnsPerChat } = settings.orchestration;
  const bare = new ScriptedModelClient({ replies: () => 'Noted. What next?' });
  // A turn's prompt holds the history so far: on average as many messages as the chat has turns.
  const prompt: Message[] = [{ role: 'system', content: 'You are a helpful AI Assistant.' }];
  for (let index = 0; index < turnsPerChat; index++) {
    prompt.push(
      index % 2 === 0
        ? { role: 'user', content: 'Go on.', name: 'user' }
        : { role: 'assistant', content: 'Noted. What next?', name: 'assistant' },
    );
  }
  const bareCall = await sample(
    { warmup: 5000, iterations: chats * turnsPerChat },
    {
      measure: async () => {
        await bare.create({ messages: prompt });
      },
    },
  );
  const turnSamples: number[] = [];
  // The first chats warm the JIT and are thrown away: with one, p50 still read about twice the steady value.
  const warmupChats = 40;
  for (let chat = 0; chat < warmupChats + chats; chat++) {
    const durations = await timeTurns(createScriptedPair(), turnsPerChat);
    if (chat >= warmupChats) turnSamples.push(...durations);
  }
  const { longChats, longChatTurns } = settings.orchestration;
  // The first and the last turns of the same long chats: a flat per-turn cost keeps them equal.
  const edge = Math.min(500, Math.floor(longChatTurns / 4));
  const earlyTurns: number[] = [];
  const lateTurns: number[] = [];
  for (let chat = 0; chat < longChats; chat++) {
    const durations = await timeTurns(createScriptedPair({ maxRecordedRequests: 0 }), longChatTurns);
    earlyTurns.push(...durations.slice(0, edge));
    lateTurns.push(...durations.slice(-edge));
  }
  const toMicroseconds = (values: number[]) => values.map((value) => value * 1000);
  figures.add(
    'orchestration.model-call',
    `ScriptedModelClient.create alone, ${turnsPerChat}-message prompt (baseline)`,
    'µs',
    toMicroseconds(bareCall),
  );
  figures.add(
    'orchestration.two-agent.turn',
    `two-agent chat turn on ScriptedModelClient (${turnsPerChat}-turn chats)`,
    'µs',
    toMicroseconds(turnSamples),
    { baselineId: 'orchestration.model-call' },
  );
  figures.add(
    'orchestration.two-agent.turn.first',
    `two-agent chat turn, first ${edge} turns of ${longChatTurns}-turn chats`,
    'µs',
    toMicroseconds(earlyTurns),
  );
  figures.add(
    'orchestration.two-agent.turn.long',
    `two-agent chat turn, last ${edge} turns of ${longChatTurns}-turn chats (history up to ${longChatTurns * 2} messages)`,
    'µs',
    toMicroseconds(lateTurns),
    {
      baselineId: 'orchestration.two-agent.turn.first',
      note: 'each turn extends the prompt kept from the last one instead of rebuilding it from the whole history (goal: ratio at most 1.5 at p50)',
    },
  );
}
