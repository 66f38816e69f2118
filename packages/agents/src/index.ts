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
export { createModelClient } from './model-clients/create-model-client.js';
export type { ModelClient, ModelRequest, ModelResponse } from './model-clients/model-client.js';
export { OpenAIChatClient } from './model-clients/openai-chat-client.js';
export type { ModelUsage, UsageReport, UsageSummary } from './model-clients/usage.js';
export { addUsage, emptyUsageSummary, mergeUsageSummaries, UsageTracker } from './model-clients/usage.js';
export {
  executeFunction,
  executeToolCalls,
  formatJsonString,
  serializeResult,
} from './tools/execute-tool-calls.js';
export { isTool, isToolDefinition, toolDefinition } from './tools/tool-definition.js';
export {
  assertValidToolName,
  normalizeToolName,
  TOOL_NAME_MAX_LENGTH,
  TOOL_NAME_PATTERN,
} from './tools/tool-name.js';
export type { FunctionMapEntry, Tool, ToolDefinition } from './tools/tool-types.js';
