/** Iteration counts of a full run and of the `--quick` smoke pass. */

/** How much each section measures. Every count is bounded so a run ends in known time. */
export interface BenchSettings {
  mode: 'full' | 'quick';
  /** Sandbox start: warm-up runs, and kept runs per path. */
  start: { warmup: number; iterations: number };
  /** Sandbox delete: sandboxes alive in the two cases compared, and kept deletes in each. */
  delete: { fewAlive: number; manyAlive: number; iterations: number };
  /** The warm pool under load: creates in one burst, and creates at a steady rate (one per interval, milliseconds). */
  poolLoad: { burstSize: number; steadyCreates: number; steadyIntervalMs: number };
  /** Execution round trips: kept runs of fast snippets and of fresh-process pandas snippets. */
  execution: { warmup: number; fastIterations: number; slowIterations: number };
  /** Concurrency levels; rounds of cold bursts and of steady-state blocks; blocks per sandbox per round. */
  concurrency: { levels: number[]; burstRounds: number; steadyRounds: number; blocksPerSandbox: number };
  /**
   * Group-chat round counts; two-agent chats × turns per chat; and long two-agent chats × their
   * turns, whose first and last turns (up to 500 each) show whether the turn cost grows with the history.
   */
  orchestration: {
    groupChatRounds: number[];
    chats: number;
    turnsPerChat: number;
    longChats: number;
    longChatTurns: number;
  };
  /** A sandbox flooding its reply pipe: kept bystander round trips (quiet and flooded), seconds per flood. */
  noisyNeighbour: { samples: number; floodSeconds: number };
  /** Tool calls: warm-up pairs, and kept pairs of a local and an MCP (stdio) call. */
  tools: { warmup: number; iterations: number };
  /**
   * Idle sandboxes measured at once, then all of `manySandboxes` alive (the pandas figures), and
   * messages of the long chat with heap checkpoints every `checkpointEvery`.
   */
  memory: { sandboxes: number; manySandboxes: number; messages: number; checkpointEvery: number };
  /**
   * Durable runs: kept samples of the turn pairs (each a chat of `turnsPerSample` turns, plain and
   * durable) and code blocks; resumes of the long run and its number of messages.
   */
  durable: { turnSamples: number; turnsPerSample: number; resumeRuns: number; messages: number };
  /**
   * Pipeline workers: worker-process counts compared, jobs per throughput round and rounds per
   * count, pick-up samples, and take-over samples with the take-over bound they use (milliseconds).
   */
  workers: {
    workerCounts: number[];
    jobsPerRound: number;
    rounds: number;
    pickups: number;
    takeovers: number;
    takeoverMs: number;
  };
  /**
   * hopgen serve: answered turns for the one-client latency (about six events each), SSE client
   * counts held on one run, and turns measured at each count; for `GET /api/runs`, stored runs,
   * entries per run and timed later lists (over five servers, each also timing its first list).
   */
  serve: {
    latencyTurns: number;
    clientCounts: number[];
    turnsPerCount: number;
    listRuns: number;
    entriesPerRun: number;
    lists: number;
  };
}

/** The published run: at least 30 kept runs for every latency figure. */
export const FULL_SETTINGS: BenchSettings = {
  mode: 'full',
  start: { warmup: 2, iterations: 30 },
  delete: { fewAlive: 10, manyAlive: 400, iterations: 40 },
  poolLoad: { burstSize: 32, steadyCreates: 40, steadyIntervalMs: 250 },
  execution: { warmup: 3, fastIterations: 200, slowIterations: 20 },
  concurrency: { levels: [1, 8, 32], burstRounds: 3, steadyRounds: 3, blocksPerSandbox: 10 },
  orchestration: {
    groupChatRounds: [100, 1000, 10_000],
    chats: 20,
    turnsPerChat: 50,
    longChats: 3,
    longChatTurns: 5000,
  },
  noisyNeighbour: { samples: 100, floodSeconds: 8 },
  tools: { warmup: 50, iterations: 1000 },
  memory: { sandboxes: 8, manySandboxes: 32, messages: 10_000, checkpointEvery: 500 },
  durable: { turnSamples: 40, turnsPerSample: 20, resumeRuns: 30, messages: 1000 },
  workers: {
    workerCounts: [1, 2, 4],
    jobsPerRound: 30,
    rounds: 3,
    pickups: 30,
    takeovers: 5,
    takeoverMs: 15_000,
  },
  serve: {
    latencyTurns: 30,
    clientCounts: [10, 100, 500, 1000],
    turnsPerCount: 3,
    listRuns: 200,
    entriesPerRun: 500,
    lists: 30,
  },
};

/** The smoke pass CI runs: every section, a few runs each, so the benchmarks cannot rot unnoticed. */
export const QUICK_SETTINGS: BenchSettings = {
  mode: 'quick',
  start: { warmup: 1, iterations: 3 },
  delete: { fewAlive: 2, manyAlive: 20, iterations: 3 },
  poolLoad: { burstSize: 4, steadyCreates: 4, steadyIntervalMs: 250 },
  execution: { warmup: 1, fastIterations: 5, slowIterations: 2 },
  concurrency: { levels: [1, 4], burstRounds: 1, steadyRounds: 1, blocksPerSandbox: 2 },
  orchestration: { groupChatRounds: [10, 100], chats: 2, turnsPerChat: 10, longChats: 1, longChatTurns: 200 },
  noisyNeighbour: { samples: 10, floodSeconds: 4 },
  tools: { warmup: 5, iterations: 20 },
  memory: { sandboxes: 2, manySandboxes: 4, messages: 400, checkpointEvery: 100 },
  durable: { turnSamples: 3, turnsPerSample: 5, resumeRuns: 3, messages: 1000 },
  workers: {
    workerCounts: [1, 2, 4],
    jobsPerRound: 4,
    rounds: 1,
    pickups: 3,
    takeovers: 1,
    takeoverMs: 2_000,
  },
  serve: {
    latencyTurns: 3,
    clientCounts: [10, 50],
    turnsPerCount: 1,
    listRuns: 20,
    entriesPerRun: 50,
    lists: 5,
  },
};
