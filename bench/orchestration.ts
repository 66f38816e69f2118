/**
 * Orchestration overhead of a group chat: a 3-agent round-robin chat whose agents answer with a fixed
 * string (no model), over 100, 1000 and 10000 rounds. Reports time per round (p50/p95/p99 of the
 * per-round times, and total/rounds), whether the cost stays flat as the transcript grows (last tenth
 * of the rounds against the first tenth), retained heap per round, and where a round's time goes
 * (the core's send/receive, speaker selection, reply generation).
 *
 * Run: `npx tsx bench/orchestration.ts [rounds...]`. `runOrchestrationBench` is also called by
 * `bench/group-chat.ts` (with `{ rounds: number }`).
 *
 * The project's target is a p50 of 10 µs or less per round; AutoGen was not measured here.
 */
import { ConversableAgent, GroupChat, GroupChatManager, type Message } from '@hopgen/agents';
import { collectGarbage } from './heap.js';
import { summarize } from './statistics.js';

/** Figures of one chat of `rounds` rounds. */
export interface OrchestrationRun {
  rounds: number;
  /** Wall time of the whole chat, in milliseconds. */
  totalMs: number;
  /** totalMs / rounds, in microseconds. */
  meanRoundMicroseconds: number;
  /** Percentiles of the per-round times, in microseconds. */
  p50RoundMicroseconds: number;
  p95RoundMicroseconds: number;
  p99RoundMicroseconds: number;
  /** Median round time of the last tenth of the rounds divided by that of the first tenth (1 = flat). */
  lateOverEarlyRatio: number;
  /** Heap still alive after the chat (transcript and histories), per round, in bytes. */
  retainedHeapBytesPerRound: number;
  /** Time of each round (selection to selection), in milliseconds. */
  roundDurationsMs: number[];
}

/** Where a round's time goes, measured on its parts in isolation (microseconds per call). */
export interface RoundBreakdown {
  /** One `send` with `requestReply: false` (the core's send + receive, message validation included). */
  sendMicroseconds: number;
  /** One round-robin `selectSpeakerWithReason`. */
  selectMicroseconds: number;
  /** One `generateReply` of a model-free agent. */
  generateReplyMicroseconds: number;
  /** A round does 3 sends (2 broadcasts + the speaker's reply), 1 selection and 1 reply. */
  estimatedRoundMicroseconds: number;
}

function modelFreeAgent(name: string): ConversableAgent {
  const agent = new ConversableAgent({
    name,
    humanInputMode: 'NEVER',
    silent: true,
    maxConsecutiveAutoReply: Infinity,
  });
  const reply = `${name}: a fixed answer of ordinary length for the benchmark.`;
  agent.registerReply([ConversableAgent, null], () => ({ final: true, reply }), { name: 'fixedReply' });
  return agent;
}

function team() {
  const agents = [modelFreeAgent('alice'), modelFreeAgent('bob'), modelFreeAgent('carol')];
  return { agents, first: agents[0]! };
}

/** Runs one chat of `rounds` rounds and measures it. */
export async function runOneChat(rounds: number): Promise<OrchestrationRun> {
  const { agents, first } = team();
  const groupchat = new GroupChat({ agents, speakerSelectionMethod: 'round_robin', maxRound: rounds });
  const manager = new GroupChatManager({ groupchat, silent: true });
  const boundaries = new Float64Array(rounds + 1);
  let count = 0;
  manager.on('speaker-selected', () => {
    boundaries[count++] = performance.now();
  });
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const startedAt = performance.now();
  boundaries[count++] = startedAt;
  const result = await first.initiateChat(manager, { message: 'start', silent: true, summaryMethod: null });
  const endedAt = performance.now();
  if (result.terminationReason !== 'max-round' || groupchat.messages.length !== rounds) {
    throw new Error(
      `benchmark chat ended early: ${result.terminationReason}, ${groupchat.messages.length} messages`,
    );
  }
  boundaries[count++] = endedAt;
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;
  const roundDurationsMs: number[] = [];
  for (let i = 1; i < count; i++) roundDurationsMs.push(boundaries[i]! - boundaries[i - 1]!);
  const micro = roundDurationsMs.map((value) => value * 1000);
  const summary = summarize(micro);
  const tenth = Math.max(1, Math.floor(micro.length / 10));
  const early = summarize(micro.slice(0, tenth)).p50;
  const late = summarize(micro.slice(-tenth)).p50;
  // Keep the chat alive until the heap was measured.
  if (manager.groupchat.messages.length === 0) throw new Error('unreachable');
  return {
    rounds,
    totalMs: endedAt - startedAt,
    meanRoundMicroseconds: ((endedAt - startedAt) * 1000) / rounds,
    p50RoundMicroseconds: summary.p50,
    p95RoundMicroseconds: summary.p95,
    p99RoundMicroseconds: summary.p99,
    lateOverEarlyRatio: late / early,
    retainedHeapBytesPerRound: (heapAfter - heapBefore) / rounds,
    roundDurationsMs,
  };
}

async function timePerCall(calls: number, body: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(1000, calls); i++) await body();
  const startedAt = performance.now();
  for (let i = 0; i < calls; i++) await body();
  return ((performance.now() - startedAt) * 1000) / calls;
}

/** Times the parts of a round in isolation. */
export async function measureRoundBreakdown(calls = 20_000): Promise<RoundBreakdown> {
  const { agents, first } = team();
  const [alice, bob] = agents as [ConversableAgent, ConversableAgent, ConversableAgent];
  const groupchat = new GroupChat({ agents, speakerSelectionMethod: 'round_robin', maxRound: 10 });
  const manager = new GroupChatManager({ groupchat, silent: true });
  first.prepareChat(manager, { clearHistory: true });
  const message: Message = {
    role: 'user',
    content: 'alice: a fixed answer of ordinary length.',
    name: 'alice',
  };
  groupchat.messages.push(message);
  const sendMicroseconds = await timePerCall(calls, () =>
    manager.send(message, bob, { requestReply: false, silent: true }),
  );
  const selectMicroseconds = await timePerCall(calls, () =>
    groupchat.selectSpeakerWithReason(alice, manager),
  );
  const generateReplyMicroseconds = await timePerCall(calls, () => bob.generateReply({ sender: manager }));
  return {
    sendMicroseconds,
    selectMicroseconds,
    generateReplyMicroseconds,
    estimatedRoundMicroseconds: 3 * sendMicroseconds + selectMicroseconds + generateReplyMicroseconds,
  };
}

/**
 * Runs the benchmark. `rounds` is one chat length or several; returns the figures of each chat
 * (for one length, the run itself, so its `roundDurationsMs` can be read directly) and the breakdown.
 */
export async function runOrchestrationBench(options: { rounds: number }): Promise<OrchestrationRun>;
export async function runOrchestrationBench(options: {
  rounds: number[];
}): Promise<{ runs: OrchestrationRun[]; breakdown: RoundBreakdown }>;
export async function runOrchestrationBench(options: {
  rounds: number | number[];
}): Promise<OrchestrationRun | { runs: OrchestrationRun[]; breakdown: RoundBreakdown }> {
  if (typeof options.rounds === 'number') return runOneChat(options.rounds);
  // Warm up the JIT so the first length is not penalised.
  await runOneChat(200);
  const runs: OrchestrationRun[] = [];
  for (const rounds of options.rounds) runs.push(await runOneChat(rounds));
  return { runs, breakdown: await measureRoundBreakdown() };
}

function format(value: number, digits = 1): string {
  return value.toFixed(digits);
}

async function main(): Promise<void> {
  const fromArguments = process.argv
    .slice(2)
    .map(Number)
    .filter((value) => Number.isInteger(value) && value > 0);
  const rounds = fromArguments.length > 0 ? fromArguments : [100, 1000, 10_000];
  const { runs, breakdown } = await runOrchestrationBench({ rounds });
  console.log('3-agent round-robin group chat, model-free agents (target p50 ≤ 10 µs per round)');
  console.log('rounds   total ms   mean µs   p50 µs   p95 µs   p99 µs   late/early   heap B/round');
  for (const run of runs) {
    console.log(
      [
        String(run.rounds).padStart(6),
        format(run.totalMs).padStart(10),
        format(run.meanRoundMicroseconds).padStart(9),
        format(run.p50RoundMicroseconds).padStart(8),
        format(run.p95RoundMicroseconds).padStart(8),
        format(run.p99RoundMicroseconds).padStart(8),
        format(run.lateOverEarlyRatio, 2).padStart(12),
        format(run.retainedHeapBytesPerRound, 0).padStart(14),
      ].join(' '),
    );
  }
  console.log('\nWhere a round goes (parts timed in isolation, µs per call):');
  console.log(
    `  send (core send + receive, requestReply false): ${format(breakdown.sendMicroseconds, 2)} × 3 per round`,
  );
  console.log(`  round-robin selection:                          ${format(breakdown.selectMicroseconds, 2)}`);
  console.log(
    `  generateReply (model-free):                     ${format(breakdown.generateReplyMicroseconds, 2)}`,
  );
  console.log(
    `  estimated round:                                ${format(breakdown.estimatedRoundMicroseconds, 2)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
