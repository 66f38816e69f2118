import { CodeExecutionError } from '@hopgen/agents';

/**
 * Root of every error that `@hopgen/executors-hopx` throws on purpose. It is a
 * `CodeExecutionError` from `@hopgen/agents`, so agents treat it as an infrastructure failure,
 * never as a failing user program.
 */
export class HopXExecutorError extends CodeExecutionError {}

/** No HopX API key was given and `HOPX_API_KEY` is not set. */
export class MissingApiKeyError extends HopXExecutorError {
  constructor() {
    super(
      'HopXCodeExecutor needs a HopX API key. Pass `apiKey` to new HopXCodeExecutor({ apiKey }) ' +
        'or set the HOPX_API_KEY environment variable (for @hopgen/local-sandbox, use the apiKey that startLocalSandboxServer() returns).',
    );
  }
}

/** An option given to `new HopXCodeExecutor()` is out of range; the message names it and the fix. */
export class InvalidExecutorOptionError extends HopXExecutorError {}

/** The executor was used after `close()`. */
export class ExecutorClosedError extends HopXExecutorError {
  constructor() {
    super('This HopXCodeExecutor is closed. Create a new HopXCodeExecutor to run more code.', {
      nothingRan: true,
    });
  }
}

/** No working sandbox could be obtained, even after `maxRetries` fresh sandboxes. */
export class SandboxUnavailableError extends HopXExecutorError {}

/** Nothing answers at the executor's `baseURL`: the message says what to start, and where to point. */
export class SandboxServerUnreachableError extends SandboxUnavailableError {
  constructor(baseURL: string, reason: string, options?: { cause?: unknown }) {
    super(
      `No HopX sandbox server answers at ${baseURL} (${reason}). Start the local one with \`npx hopgen-sandbox\` ` +
        'and pass the baseURL and apiKey it prints (or set HOPX_BASE_URL and HOPX_API_KEY), or leave baseURL unset for HopX cloud.',
      options,
    );
  }
}

/** HopX refused our credentials (HTTP 401/403). */
export class SandboxAuthenticationError extends HopXExecutorError {}

/** The installed `@hopx-ai/sdk` no longer has the internals this package relies on to stop silent re-execution. */
export class IncompatibleSdkError extends HopXExecutorError {}

/** A file operation (`uploadFile`, `downloadFile`, `readFile`, `writeFile`) failed. */
export class SandboxFileError extends HopXExecutorError {}

/** A TypeScript block ran but the optional `typescript` package (5 or 6) is missing or has no transpiler API. */
export class TypeScriptUnavailableError extends HopXExecutorError {
  constructor(problem: string, cause?: unknown) {
    super(
      `${problem} Running a TypeScript code block needs the \`typescript\` package, version 5 or 6 ` +
        '(version 7 has no JavaScript transpiler API), which @hopgen/executors-hopx loads only when a ' +
        'TypeScript block runs. Install it in your project (npm install typescript@6), or leave TypeScript ' +
        'out of the languages you tell the model it may use.',
      { cause },
    );
  }
}
