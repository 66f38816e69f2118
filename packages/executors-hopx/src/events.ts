/** `execution-started`: a call to `executeCodeBlocks` began. */
export interface HopXExecutionStartedEvent {
  /** Numbers the calls of one executor, from 1. */
  executionId: number;
  /** Fence tags of the blocks, in order. */
  languages: string[];
  /** The sandbox in use, or undefined when none exists yet (it is created lazily). */
  sandboxId: string | undefined;
}

/** `block-finished`: one block finished and printed this. */
export interface HopXBlockFinishedEvent {
  /** The call this block belongs to. */
  executionId: number;
  /** Position of the block in the call, from 0. */
  blockIndex: number;
  /** The block's fence tag. */
  language: string;
  /** The sandbox the block ran in (after any restart). */
  sandboxId: string | undefined;
  /** The block's exit code (124 on timeout). */
  exitCode: number;
  /** What the block printed, stdout and stderr as the model sees them, before truncation. */
  output: string;
  /** Wall time of the block, milliseconds, including any sandbox restarts. */
  durationMs: number;
}

/** `execution-finished`: a call to `executeCodeBlocks` finished (also when it threw). */
export interface HopXExecutionFinishedEvent {
  /** The call that ended. */
  executionId: number;
  /** The call's exit code, or undefined when it threw. */
  exitCode: number | undefined;
  /** Wall time of the whole call, milliseconds. */
  durationMs: number;
  /** The sandbox in use at the end, if any. */
  sandboxId: string | undefined;
  /** True when an infrastructure failure forced a fresh sandbox during this call. */
  sandboxRestarted: boolean;
  /** The error the call threw, if it did. */
  error?: Error;
}

/** The events a `HopXCodeExecutor` emits (eventemitter3). */
export interface HopXCodeExecutorEvents {
  /** A call to `executeCodeBlocks` began. */
  'execution-started': (event: HopXExecutionStartedEvent) => void;
  /** One block finished. */
  'block-finished': (event: HopXBlockFinishedEvent) => void;
  /** A call to `executeCodeBlocks` finished. */
  'execution-finished': (event: HopXExecutionFinishedEvent) => void;
}
