import type { CodeExecutor } from './types.js';

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
