import type { BudgetExceeded } from './chats/run-budget.js';

/**
 * Root of every error that `@hopgen/agents` throws on purpose. Catch this to tell
 * hopgen's own failures apart from bugs in user code.
 */
export class HopgenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A message that cannot become an OpenAI chat-completion message. Nothing was appended to any history. */
export class InvalidMessageError extends HopgenError {}

/** Options passed to a constructor or method are wrong; the message names the option and the fix. */
export class InvalidOptionError extends HopgenError {}

/** A reply-function trigger needed a sender and none was given (AutoGen's `SenderRequired`). */
export class SenderRequiredError extends HopgenError {
  constructor() {
    super(
      'Sender is required but not provided. Pass `sender` to generateReply() or register the reply with a null trigger.',
    );
  }
}

/** The carryover given to initiateChat is neither a string nor an array (AutoGen's `InvalidCarryOverType`). */
export class InvalidCarryoverError extends HopgenError {}

/** `lastMessage()` cannot decide which conversation is meant, or the agent has none. */
export class ConversationNotFoundError extends HopgenError {}

/** A model call failed for good (after retries and fallbacks). */
export class ModelClientError extends HopgenError {}

/** A code executor could not run code for an infrastructure reason (not a failing user program). */
export class CodeExecutionError extends HopgenError {
  /**
   * True when none of the blocks' code started (no sandbox could be had, the executor was closed):
   * a durable run may then run the blocks later without repeating anything. @default false
   */
  nothingRan: boolean;

  constructor(message: string, options?: { cause?: unknown; nothingRan?: boolean }) {
    super(message, options);
    this.nothingRan = options?.nothingRan ?? false;
  }
}

/** Human input was needed but the provider could not give it (for example, the scripted answers ran out). */
export class HumanInputError extends HopgenError {}

/**
 * `LocalCommandLineCodeExecutor` refused a shell block that matches AutoGen's dangerous-command
 * patterns; no block of the call ran. The message starts with AutoGen's text.
 */
export class DangerousCommandError extends HopgenError {
  constructor(reason: string) {
    super(
      `Potentially dangerous command detected: ${reason} ` +
        'LocalCommandLineCodeExecutor runs code on this machine without isolation: run model-written code with HopXCodeExecutor (@hopgen/executors-hopx) instead.',
    );
  }
}

/** A model's replies did not match an agent's `responseFormat` (or a summary's `schema`) after every retry. */
export class StructuredOutputError extends HopgenError {}

/**
 * A run used up one of its budgets (`maxTokens`, `maxCostUsd`, `maxDurationMs`); chats end with
 * `terminationReason: 'budget-exceeded'` rather than throw it.
 */
export class BudgetExceededError extends HopgenError {
  /** Which budget, its limit and the usage so far. */
  readonly exceeded: BudgetExceeded;

  constructor(exceeded: BudgetExceeded, message: string) {
    super(message);
    this.exceeded = exceeded;
  }
}

/** A `maxCostUsd` budget was given for a model whose price hopgen does not know; the message names the `price` option. */
export class UnknownModelPriceError extends InvalidOptionError {}
