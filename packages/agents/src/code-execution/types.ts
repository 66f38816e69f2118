/** A block of code found in a message. */
export interface CodeBlock {
  /** The code, exactly as written between the fences. */
  code: string;
  /** The fence's language tag (lower case), or a guess when the fence had none. */
  language: string;
}

/** What running one or more code blocks produced. */
export interface CodeResult {
  /** 0 on success; the failing block's exit code otherwise; 124 on timeout; 130 when aborted. */
  exitCode: number;
  /** Everything the code printed, as the model will see it. */
  output: string;
  /** Path of the first file the code was written to, when the executor saves code to files. */
  codeFile?: string;
  /** Files the run produced and the executor saved on this machine (images, HTML). */
  outputFiles?: string[];
}

/** Finds code blocks in a message. */
export interface CodeExtractor {
  extractCodeBlocks(content: string | null | undefined | import('../message.js').ContentPart[]): CodeBlock[];
}

/** Options for one call to {@link CodeExecutor.executeCodeBlocks}. */
export interface ExecuteCodeBlocksOptions {
  /**
   * Aborts the run: the executor stops what it started and answers exit code 130 with what the
   * code printed so far, then an `Aborted` line.
   */
  signal?: AbortSignal;
  /**
   * Also save the PNG files the blocks wrote in the working directory (`savefig("chart.png")`), under the
   * names the code gave them, in `outputFiles`. Executors that cannot see their working directory ignore it.
   * @default false
   */
  collectImageFiles?: boolean;
  /**
   * Called with output as the code prints it, before the block ends (for a UI). What the result's
   * `output` says stays the source of truth. Executors that cannot stream never call it. @default none
   */
  onOutput?: (chunk: CodeOutputChunk) => void;
}

/** A piece of what running code printed, as it was printed. */
export interface CodeOutputChunk {
  /** Which stream it was printed on. */
  stream: 'stdout' | 'stderr';
  /** The text. */
  text: string;
}

/**
 * Runs code blocks for an agent. Implementations: `LocalCommandLineCodeExecutor` (no isolation)
 * and `HopXCodeExecutor` from `@hopgen/executors-hopx` (HopX cloud or the local sandbox server).
 */
export interface CodeExecutor {
  /** The extractor the agent uses to find code in messages for this executor. */
  readonly codeExtractor: CodeExtractor;
  /** Runs the blocks in order and stops at the first one that fails. */
  executeCodeBlocks(codeBlocks: CodeBlock[], options?: ExecuteCodeBlocksOptions): Promise<CodeResult>;
  /** Starts over with fresh state (a new interpreter or sandbox). */
  restart(): Promise<void>;
  /**
   * What a durable run stores after each block to find this executor's state again after a restart
   * (plain JSON, e.g. `{ sandboxId }`), or `undefined` when there is nothing to find.
   */
  durableState?(): unknown;
  /**
   * Re-attaches to the state `durableState()` returned in an earlier process. When it is gone, the
   * next block's output says that earlier state was lost.
   */
  restoreDurableState?(state: unknown): Promise<void>;
  /** Releases everything the executor holds. Safe to call twice. */
  close(): Promise<void>;
}
