import OpenAI from 'openai';
import { ModelClientError } from '../errors.js';
import type { LlmConfig } from '../llm-config.js';
import type { Message, ToolCall } from '../message.js';
import { toModelMessages } from '../message.js';
import { normalizeToolName } from '../tools/tool-name.js';
import type { ModelClient, ModelRequest, ModelResponse } from './model-client.js';
import { type UsageReport, UsageTracker } from './usage.js';

/** A model client for OpenAI and any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp, LM Studio). */
export class OpenAIChatClient implements ModelClient {
  readonly #config: LlmConfig;
  readonly #usage = new UsageTracker();

  constructor(config: LlmConfig) {
    this.#config = config;
  }

  async create(request: ModelRequest): Promise<ModelResponse> {
    const modelConfig = this.#config.configList?.[0];
    if (!modelConfig)
      throw new ModelClientError('llmConfig.configList is empty: add at least one { model }.');
    const client = new OpenAI({
      apiKey: modelConfig.apiKey ?? process.env['OPENAI_API_KEY'] ?? 'no-key',
      baseURL: modelConfig.baseURL ?? process.env['OPENAI_BASE_URL'] ?? undefined,
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create(
      {
        model: modelConfig.model,
        messages: toModelMessages(request.messages) as never,
        ...(request.tools && request.tools.length > 0 ? { tools: request.tools as never } : {}),
      },
      { signal: request.signal },
    );
    const choice = completion.choices[0];
    const toolCalls = choice?.message.tool_calls
      ?.filter((call) => call.type === 'function')
      .map(
        (call): ToolCall => ({
          id: call.id,
          type: 'function',
          function: { name: normalizeToolName(call.function.name), arguments: call.function.arguments },
        }),
      );
    const usage = {
      promptTokens: completion.usage?.prompt_tokens ?? 0,
      completionTokens: completion.usage?.completion_tokens ?? 0,
      totalTokens: completion.usage?.total_tokens ?? 0,
      cost: null,
    };
    this.#usage.record(completion.model, usage, false);
    const message: ModelResponse['message'] = { role: 'assistant', content: choice?.message.content ?? null };
    if (toolCalls && toolCalls.length > 0) message.tool_calls = toolCalls as Message['tool_calls'];
    return { message, model: completion.model, usage, cached: false, finishReason: choice?.finish_reason };
  }

  usage(): UsageReport {
    return this.#usage.report();
  }

  clearUsage(): void {
    this.#usage.clear();
  }
}
