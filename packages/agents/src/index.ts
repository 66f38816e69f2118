export type {
  CodeBlock,
  CodeExecutor,
  CodeExtractor,
  CodeResult,
  ExecuteCodeBlocksOptions,
} from './code-execution/types.js';
export {
  CodeExecutionError,
  ConversationNotFoundError,
  HopgenError,
  HumanInputError,
  InvalidCarryoverError,
  InvalidMessageError,
  InvalidOptionError,
  ModelClientError,
  SenderRequiredError,
} from './errors.js';
export type { LlmConfig, ModelConfig } from './llm-config.js';
export type { ContentPart, Message, MessageInput, ToolCall } from './message.js';
export { contentToString, messageSchema, normalizeMessage, toModelMessages } from './message.js';
export type { ModelClient, ModelRequest, ModelResponse } from './model-clients/model-client.js';
export type { ModelUsage, UsageReport, UsageSummary } from './model-clients/usage.js';
export { addUsage, emptyUsageSummary, mergeUsageSummaries, UsageTracker } from './model-clients/usage.js';
export type { ToolDefinition } from './tools/tool-types.js';
