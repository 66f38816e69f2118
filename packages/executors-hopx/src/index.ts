export {
  ExecutorClosedError,
  HopXExecutorError,
  IncompatibleSdkError,
  InvalidExecutorOptionError,
  MissingApiKeyError,
  SandboxAuthenticationError,
  SandboxFileError,
  SandboxServerUnreachableError,
  SandboxUnavailableError,
  TypeScriptUnavailableError,
} from './errors.js';
export type {
  HopXBlockFinishedEvent,
  HopXCodeExecutorEvents,
  HopXExecutionFinishedEvent,
  HopXExecutionStartedEvent,
} from './events.js';
export {
  HopXCodeExecutor,
  INTERPRETER_RESTARTED_NOTICE,
  SANDBOX_RESTARTED_NOTICE,
  type SandboxFileEntry,
} from './hopx-code-executor.js';
export type { LanguageMappingEntry, LanguageRunner, PreparedSource } from './languages.js';
export { defaultLanguages } from './languages.js';
export type { HopXCodeExecutorOptions } from './options.js';
export { transpileTypeScript } from './typescript-transpiler.js';
