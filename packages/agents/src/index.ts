export {
  AssistantAgent,
  type AssistantAgentOptions,
  DEFAULT_ASSISTANT_SYSTEM_MESSAGE,
} from './assistant-agent.js';
export type { ChatResult, TerminationReason } from './chats/chat-result.js';
export {
  type ApprovalDecision,
  type AskHumanOptions,
  type ChatEnding,
  ChatRun,
  type ChatRunOptions,
  type GroupChatProgress,
} from './chats/chat-run.js';
export type { InitiateChatOptions } from './chats/initiate-chat.js';
export { type InitiateChatsOptions, initiateChats } from './chats/initiate-chats.js';
export {
  type NestedChatQueueItem,
  type NestedChatsReplyFunction,
  type RegisterNestedChatsOptions,
  registerNestedChats,
  summaryFromNestedChats,
} from './chats/nested-chats.js';
export type { BudgetExceeded, BudgetName, BudgetUsage, RunBudgetOptions } from './chats/run-budget.js';
export {
  DEFAULT_SUMMARY_PROMPT,
  STRUCTURED_SUMMARY_PROMPT,
  type StructuredSummary,
  type SummaryArgs,
  type SummaryMethod,
} from './chats/summary.js';
export type { CodeExecutionConfig } from './code-execution/code-execution-config.js';
export {
  LocalCommandLineCodeExecutor,
  type LocalCommandLineCodeExecutorOptions,
} from './code-execution/local-command-line-code-executor.js';
export { inferLanguage, MarkdownCodeExtractor } from './code-execution/markdown-code-extractor.js';
export type {
  CodeBlock,
  CodeExecutor,
  CodeExtractor,
  CodeOutputChunk,
  CodeResult,
  ExecuteCodeBlocksOptions,
} from './code-execution/types.js';
export { ConsoleRenderer, type TranscriptRenderer } from './console-renderer.js';
export {
  type AgentHooks,
  ConversableAgent,
  type ConversableAgentOptions,
  type GenerateReplyOptions,
  type HumanInputMode,
  type PrepareChatOptions,
  type SendOptions,
} from './conversable-agent.js';
export {
  InvalidSnapshotError,
  LeaseLostError,
  NotDurableError,
  PipelineError,
  RequestAnswerError,
  RunDivergedError,
  RunLockedError,
  RunNotFoundError,
} from './durable/durable-errors.js';
export {
  DurableRun,
  type DurableRunOptions,
  type ResumeRunOptions,
  resumeRun,
  startChat,
  startChats,
} from './durable/durable-run.js';
export { FileRunStore, type FileRunStoreOptions } from './durable/file-run-store.js';
export { InMemoryRunStore } from './durable/in-memory-run-store.js';
export {
  definePipeline,
  type Pipeline,
  type PipelineContext,
  type PipelineFlow,
  type ResumePipelineOptions,
  resumePipeline,
  startPipeline,
} from './durable/pipeline.js';
export { requestCancel } from './durable/run-cancel.js';
export type { RunDefinition } from './durable/run-definition.js';
export { type RunEvent, readRunEvents } from './durable/run-events.js';
export type { ApprovalPolicy } from './durable/run-journal.js';
export {
  approve,
  type PendingRequest,
  pendingRequests,
  provideInput,
  reject,
} from './durable/run-requests.js';
export type {
  JsonValue,
  NewRunEntry,
  RequestAnswer,
  RunEntry,
  RunHeader,
  RunStore,
  StoredRun,
} from './durable/run-store.js';
export {
  BudgetExceededError,
  CodeExecutionError,
  ConversationNotFoundError,
  DangerousCommandError,
  HopgenError,
  HumanInputError,
  InvalidCarryoverError,
  InvalidMessageError,
  InvalidOptionError,
  ModelClientError,
  SenderRequiredError,
  StructuredOutputError,
  UnknownModelPriceError,
} from './errors.js';
export type { AgentEvents, MessageEvent } from './events.js';
export { clearAgentsHistory } from './group-chat/clear-history-command.js';
export {
  type CustomSpeakerSelector,
  GroupChat,
  type GroupChatOptions,
  type SpeakerSelectionMethodName,
} from './group-chat/group-chat.js';
export {
  AgentNameConflictError,
  ChatQueueError,
  NoEligibleSpeakerError,
  ResumeError,
  SpeakerSelectionError,
  UndefinedNextAgentError,
} from './group-chat/group-chat-errors.js';
export {
  GroupChatManager,
  type GroupChatManagerOptions,
  type ResumeOptions,
  type ResumeResult,
} from './group-chat/group-chat-manager.js';
export {
  DEFAULT_INTRO_MSG,
  DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_AUTO_NONE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_MESSAGE_TEMPLATE,
  DEFAULT_SELECT_SPEAKER_PROMPT_TEMPLATE,
} from './group-chat/group-chat-templates.js';
export type { SpeakerTransitionsType } from './group-chat/speaker-transitions.js';
export { type HumanInputProvider, TerminalHumanInput } from './human-input.js';
export type { LlmConfig, ModelConfig } from './llm-config.js';
export type { ContentPart, Message, MessageInput, ToolCall } from './message.js';
export { contentToString } from './message.js';
export { AllConfigsFailedError } from './model-clients/config-fallback.js';
export type { ConfigListFromJsonOptions, FilterDict } from './model-clients/config-list.js';
export { configListFromJson, filterConfig } from './model-clients/config-list.js';
export { createModelClient } from './model-clients/create-model-client.js';
export type {
  JsonSchemaResponseFormat,
  ModelClient,
  ModelRequest,
  ModelResponse,
} from './model-clients/model-client.js';
export {
  ContentFilterError,
  MissingModelApiKeyError,
  OpenAIChatClient,
} from './model-clients/openai-chat-client.js';
export type {
  CachedResponse,
  DiskResponseCacheOptions,
  ResponseCache,
} from './model-clients/response-cache.js';
export { DiskResponseCache, InMemoryResponseCache } from './model-clients/response-cache.js';
export type { ModelUsage, UsageReport, UsageSummary } from './model-clients/usage.js';
export type {
  HasModelClient,
  PrintUsageSummaryOptions,
  UsageSummaryMode,
} from './model-clients/usage-summary.js';
export { gatherUsageSummary, printUsageSummary } from './model-clients/usage-summary.js';
export { BUILT_IN_REPLY_STEPS, type BuiltInReplyStep } from './reply/built-in-steps.js';
export { INTERRUPTED_CODE_OUTPUT } from './reply/code-execution-reply.js';
export type { ReplyTrigger } from './reply/reply-trigger.js';
export type {
  RegisterReplyOptions,
  ReplyContext,
  ReplyFunction,
  ReplyResult,
} from './reply/reply-types.js';
export type { ResponseFormat, ResponseFormatOptions } from './reply/structured-output.js';
export { configureTracing, type TracingOptions } from './telemetry/tracing.js';
export { includesTerminate, isTerminateMessage } from './termination.js';
export { defineTool } from './tools/define-tool.js';
export { executeFunction } from './tools/execute-tool-calls.js';
export type { RegisterFunctionOptions, ToolCaller, ToolExecutor } from './tools/register-function.js';
export { registerFunction } from './tools/register-function.js';
export type { FunctionMapEntry, Tool, ToolDefinition } from './tools/tool-types.js';
export { UserProxyAgent, type UserProxyAgentOptions } from './user-proxy-agent.js';
