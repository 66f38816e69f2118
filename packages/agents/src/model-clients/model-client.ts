import type { Message } from '../message.js';
import type { ToolDefinition } from '../tools/tool-types.js';
import type { ModelUsage, UsageReport } from './usage.js';

/** One request to a chat model. */
export interface ModelRequest {
  /**
   * The full prompt, system message first, already in OpenAI wire form. Read it during the call only:
   * an agent extends the same array on its next turn, so a client that keeps a request copies it.
   */
  readonly messages: readonly Message[];
  /** Tools the model may call. */
  tools?: ToolDefinition[];
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Called with each text fragment while a streamed answer arrives. */
  onTextDelta?: (delta: string) => void;
  /** Asks for JSON that matches a schema (sent as OpenAI's `response_format`). */
  responseFormat?: JsonSchemaResponseFormat;
}

/** OpenAI's `response_format` for structured output: JSON that follows `json_schema.schema`. */
export interface JsonSchemaResponseFormat {
  type: 'json_schema';
  json_schema: { name: string; schema: Record<string, unknown>; strict?: boolean };
}

/** A model's answer, normalised. */
export interface ModelResponse {
  /** The assistant message: text and/or tool calls. */
  message: { role: 'assistant'; content: string | null; tool_calls?: Message['tool_calls'] };
  /** The model that answered (may differ from the one asked, e.g. a dated snapshot). */
  model: string;
  /** Tokens and cost of this call. */
  usage: ModelUsage;
  /** True when the answer came from the response cache and cost nothing now. */
  cached: boolean;
  /** The provider's finish reason, when it gave one. */
  finishReason?: string;
}

/**
 * What an agent needs from a model. `OpenAIChatClient` speaks to any OpenAI-compatible
 * endpoint; `ScriptedModelClient` answers from a script, for tests and offline demos.
 */
export interface ModelClient {
  /** Sends one request and returns the normalised answer. Throws `ModelClientError` when every attempt failed. */
  create(request: ModelRequest): Promise<ModelResponse>;
  /** Usage so far, with and without cached answers. */
  usage(): UsageReport;
  /** Forgets the usage counted so far. */
  clearUsage(): void;
  /**
   * Models this client may call whose price is unknown (a `maxCostUsd` budget refuses them at the
   * start). A client without this method is checked on its first answer instead.
   */
  unpricedModels?(): string[];
}
