import type { JSONSchema7 } from '@ai-sdk/provider';
import type { CachedResponse, JsonSchemaResponseFormat, ModelRequest, ToolCall } from '@hopgen/agents';
import { computeCost, normalizeToolName } from '@hopgen/agents/internal';
import { generateText, type LanguageModelUsage, type OutputInterface, streamText } from 'ai';
import type { AiSdkModelConfig } from './options.js';
import { toAiSdkPrompt, toAiSdkTools } from './prompt-conversion.js';

/** Settings of one attempt on one config. */
export interface ModelCallSettings {
  config: AiSdkModelConfig;
  /** The config's model name (its `model`, else the language model's id). */
  model: string;
  temperature: number | undefined;
  maxOutputTokens: number | undefined;
  /** Aborts the attempt: the caller's signal or our timeout. */
  signal: AbortSignal;
  /** Called whenever a streamed part arrives, so a silent stream can be timed out. */
  onActivity: () => void;
  /** Set to true once streamed text has been handed to `onTextDelta`. */
  streamed: { any: boolean };
}

/**
 * A structured-output request as the AI SDK's output specification: the provider is sent the JSON
 * schema its own way (OpenAI's `response_format`, Anthropic's output format or JSON tool...), and the
 * text comes back unparsed. The AI SDK's own object output would throw on a reply that fails the
 * schema; hopgen validates it instead and sends it back to the model with its issues.
 */
function jsonSchemaOutput(format: JsonSchemaResponseFormat): OutputInterface<string, undefined, never> {
  const { name, schema } = format.json_schema;
  return {
    name: 'object',
    responseFormat: Promise.resolve({ type: 'json', schema: schema as JSONSchema7, name }),
    parseCompleteOutput: async ({ text }) => text,
    parsePartialOutput: async () => undefined,
    createElementStreamTransform: () => undefined,
  };
}

/** What both AI SDK calls are given. */
function callOptions(request: ModelRequest, settings: ModelCallSettings) {
  const prompt = toAiSdkPrompt(request.messages);
  const tools = request.tools && request.tools.length > 0 ? toAiSdkTools(request.tools) : undefined;
  return {
    model: settings.config.languageModel,
    ...(prompt.system !== undefined ? { system: prompt.system } : {}),
    messages: prompt.messages,
    ...(tools ? { tools } : {}),
    ...(request.responseFormat ? { output: jsonSchemaOutput(request.responseFormat) } : {}),
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(settings.maxOutputTokens !== undefined ? { maxOutputTokens: settings.maxOutputTokens } : {}),
    ...(settings.config.providerOptions ? { providerOptions: settings.config.providerOptions } : {}),
    // Retries are ours (counted, with fallback between configs), so the AI SDK must not retry on its own.
    maxRetries: 0,
    abortSignal: settings.signal,
  };
}

/** One call without streaming. */
export async function generateOnce(
  request: ModelRequest,
  settings: ModelCallSettings,
): Promise<CachedResponse> {
  const result = await generateText(callOptions(request, settings));
  return toAnswer(settings, {
    model: result.response.modelId || settings.model,
    text: result.text,
    toolCalls: result.toolCalls,
    finishReason: result.finishReason,
    usage: result.usage,
  });
}

/** One streamed call: each text fragment goes to `request.onTextDelta` as it arrives. */
export async function streamOnce(
  request: ModelRequest,
  settings: ModelCallSettings,
): Promise<CachedResponse> {
  const result = streamText({
    ...callOptions(request, settings),
    // Errors are thrown from the loop below; the default handler would also print them.
    onError: () => {},
  });
  const text: string[] = [];
  const toolCalls: RawToolCall[] = [];
  let finish: { finishReason: string; usage: LanguageModelUsage } | undefined;
  let model = settings.model;
  for await (const part of result.fullStream) {
    settings.onActivity();
    switch (part.type) {
      case 'text-delta':
        if (part.text === '') break;
        text.push(part.text);
        settings.streamed.any = true;
        request.onTextDelta?.(part.text);
        break;
      case 'tool-call':
        toolCalls.push(part);
        break;
      case 'finish-step':
        if (part.response.modelId) model = part.response.modelId;
        break;
      case 'finish':
        finish = { finishReason: part.finishReason, usage: part.totalUsage };
        break;
      case 'error':
        throw part.error;
      case 'abort':
        throw settings.signal.reason ?? new Error('the stream was aborted');
    }
  }
  if (finish === undefined) throw new Error('the stream ended before the model finished');
  return toAnswer(settings, { model, text: text.join(''), toolCalls, ...finish });
}

interface RawToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
}

/** AI SDK finish reasons in OpenAI's spelling, which AutoGen code compares against. */
const FINISH_REASONS: Record<string, string> = {
  'tool-calls': 'tool_calls',
  'content-filter': 'content_filter',
};

function toAnswer(
  settings: ModelCallSettings,
  raw: {
    model: string;
    text: string;
    toolCalls: RawToolCall[];
    finishReason: string;
    usage: LanguageModelUsage;
  },
): CachedResponse {
  const promptTokens = raw.usage.inputTokens ?? 0;
  const completionTokens = raw.usage.outputTokens ?? 0;
  const message: CachedResponse['message'] = {
    role: 'assistant',
    content: raw.text === '' ? null : raw.text,
  };
  if (raw.toolCalls.length > 0) {
    message.tool_calls = raw.toolCalls.map(
      (call): ToolCall => ({
        id: call.toolCallId,
        type: 'function',
        function: {
          // AutoGen normalises the names models send (`multi_tool_call.echo` -> `multi_tool_call_echo`).
          name: normalizeToolName(call.toolName),
          // Input the SDK could not parse stays the text the model wrote, for the tool executor to report.
          arguments: typeof call.input === 'string' ? call.input : JSON.stringify(call.input ?? {}),
        },
      }),
    );
  }
  return {
    message,
    model: raw.model,
    usage: {
      promptTokens,
      completionTokens,
      totalTokens: raw.usage.totalTokens ?? promptTokens + completionTokens,
      cost: computeCost([raw.model, settings.model], promptTokens, completionTokens, settings.config.price),
    },
    finishReason: FINISH_REASONS[raw.finishReason] ?? raw.finishReason,
  };
}
