import type { ChatResult } from '../chats/chat-result.js';
import type { CodeBlock, CodeExecutor, CodeResult } from '../code-execution/types.js';
import type { LlmConfig } from '../llm-config.js';
import type { ToolCall } from '../message.js';
import type { ModelClient, ModelRequest, ModelResponse } from '../model-clients/model-client.js';
import { recordsContent, withSpan } from './tracing.js';

// Span names and attributes follow the OpenTelemetry GenAI semantic conventions where they define one
// (`invoke_agent`, `chat`, `execute_tool`, `gen_ai.*`); hopgen's own work uses the `hopgen.*` namespace.

/** The model an `llmConfig` asks for first, when it names one (a `modelClient` may not). */
export function requestedModel(llmConfig: LlmConfig | false): string | undefined {
  return llmConfig === false ? undefined : llmConfig.configList?.[0]?.model;
}

/** A run: one `initiateChat`, from the first message to its summary. */
export function traceRun<TResult extends ChatResult<unknown>>(
  initiator: string,
  recipient: string,
  work: () => Promise<TResult>,
): Promise<TResult> {
  return withSpan(
    {
      name: `run ${initiator} -> ${recipient}`,
      attributes: { 'hopgen.run.initiator': initiator, 'hopgen.run.recipient': recipient },
      agentName: initiator,
    },
    async (span) => {
      const result = await work();
      span?.setAttributes({ 'hopgen.run.termination_reason': result.terminationReason ?? 'none' });
      return result;
    },
  );
}

/** One turn of an agent: producing one reply. */
export function traceAgentTurn<T>(agentName: string, work: () => Promise<T>): Promise<T> {
  return withSpan(
    {
      name: `invoke_agent ${agentName}`,
      attributes: { 'gen_ai.operation.name': 'invoke_agent' },
      agentName,
    },
    () => work(),
  );
}

/** One model call, with the model, token usage and (when enabled) the messages. */
export function traceModelCall(
  requestedModel: string | undefined,
  request: ModelRequest,
  work: () => Promise<ModelResponse>,
): Promise<ModelResponse> {
  return withSpan(
    {
      name: requestedModel ? `chat ${requestedModel}` : 'chat',
      attributes: {
        'gen_ai.operation.name': 'chat',
        ...(requestedModel ? { 'gen_ai.request.model': requestedModel } : {}),
        ...(recordsContent() ? { 'gen_ai.input.messages': JSON.stringify(request.messages) } : {}),
      },
    },
    async (span) => {
      const response = await work();
      span?.updateName(`chat ${response.model}`);
      span?.setAttributes({
        'gen_ai.response.model': response.model,
        'gen_ai.usage.input_tokens': response.usage.promptTokens,
        'gen_ai.usage.output_tokens': response.usage.completionTokens,
        'hopgen.cached': response.cached,
        ...(response.usage.cost !== null ? { 'hopgen.cost.usd': response.usage.cost } : {}),
        ...(response.finishReason ? { 'gen_ai.response.finish_reasons': [response.finishReason] } : {}),
        ...(recordsContent() ? { 'gen_ai.output.messages': JSON.stringify([response.message]) } : {}),
      });
      return response;
    },
  );
}

/** `client` with every `create` call traced as a model call (structured output may call it several times). */
export function tracedModelClient(client: ModelClient, requested: string | undefined): ModelClient {
  return {
    create: (request) => traceModelCall(requested, request, () => client.create(request)),
    usage: () => client.usage(),
    clearUsage: () => client.clearUsage(),
  };
}

/** One tool call; an `Error: ...` answer marks the span as failed. */
export function traceToolCall(call: ToolCall, work: () => Promise<string>): Promise<string> {
  const name = call.function?.name ?? '';
  return withSpan(
    {
      name: `execute_tool ${name}`,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': name,
        'gen_ai.tool.type': 'function',
        ...(call.id ? { 'gen_ai.tool.call.id': call.id } : {}),
        ...(recordsContent() ? { 'gen_ai.tool.call.arguments': call.function?.arguments ?? '' } : {}),
      },
    },
    async (span) => {
      const answer = await work();
      if (recordsContent()) span?.setAttributes({ 'gen_ai.tool.call.result': answer });
      if (answer.startsWith('Error: ')) span?.fail(answer.split('\n')[0] ?? answer, 'tool_error');
      return answer;
    },
  );
}

/** One code execution (the blocks of one message), with the sandbox it ran in when the executor has one. */
export function traceCodeExecution(
  executor: CodeExecutor,
  codeBlocks: readonly CodeBlock[],
  work: () => Promise<CodeResult>,
): Promise<CodeResult> {
  const languages = codeBlocks.map((block) => block.language);
  return withSpan(
    {
      name: `execute_code ${[...new Set(languages)].join(',')}`,
      attributes: {
        'hopgen.code.block_count': codeBlocks.length,
        'hopgen.code.languages': languages,
        ...(recordsContent()
          ? { 'hopgen.code.source': codeBlocks.map((block) => block.code).join('\n\n') }
          : {}),
      },
    },
    async (span) => {
      const result = await work();
      const sandboxId = (executor as { sandboxId?: unknown }).sandboxId;
      span?.setAttributes({
        'hopgen.code.exit_code': result.exitCode,
        ...(typeof sandboxId === 'string' ? { 'hopgen.sandbox.id': sandboxId } : {}),
        ...(recordsContent() ? { 'hopgen.code.output': result.output } : {}),
      });
      if (result.exitCode !== 0) span?.fail(`exitcode: ${result.exitCode}`, 'code_failed');
      return result;
    },
  );
}

/** One speaker selection of a group chat. */
export function traceSpeakerSelection<
  T extends { speaker: { name: string }; method: string; reason: string },
>(managerName: string, round: number, work: () => Promise<T>): Promise<T> {
  return withSpan(
    {
      name: 'select_speaker',
      attributes: { 'hopgen.group_chat.round': round },
      agentName: managerName,
    },
    async (span) => {
      const selection = await work();
      span?.setAttributes({
        'hopgen.speaker.name': selection.speaker.name,
        'hopgen.speaker.method': selection.method,
        'hopgen.speaker.reason': selection.reason,
      });
      return selection;
    },
  );
}
