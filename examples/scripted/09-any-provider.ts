import type { LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { defineTool } from '@hopgen/agents';
import { APICallError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';

// The AI SDK's own mock models standing in for Claude (overloaded on every attempt) and Gemini (calls the
// tool, then answers from its result), so example 09 runs offline.

/** Claude: HTTP 529 Overloaded on every attempt. */
export const claude = new MockLanguageModelV3({
  provider: 'anthropic.messages',
  modelId: 'claude-sonnet-4-5',
  doGenerate: async () => {
    throw new APICallError({
      message: 'Overloaded',
      url: 'https://api.anthropic.com/v1/messages',
      requestBodyValues: {},
      statusCode: 529,
      isRetryable: true,
    });
  },
});

/** Gemini: asks for convert_currency, then answers with its result. */
export const gemini = new MockLanguageModelV3({
  provider: 'google.generative-ai',
  modelId: 'gemini-2.5-flash',
  doGenerate: async ({ prompt }) => {
    const toolResult = prompt
      .flatMap((message) => (message.role === 'tool' ? message.content : []))
      .find((part) => part.type === 'tool-result');
    if (!toolResult) {
      return reply([
        {
          type: 'tool-call',
          toolCallId: 'call_fx',
          toolName: 'convert_currency',
          input: '{"amount": 250, "from": "EUR", "to": "USD"}',
        },
      ]);
    }
    const output =
      toolResult.output.type === 'text' ? toolResult.output.value : JSON.stringify(toolResult.output);
    return reply([
      { type: 'text', text: `250 EUR is ${JSON.parse(output).converted} USD at today's rate. TERMINATE` },
    ]);
  },
});

function reply(content: LanguageModelV3GenerateResult['content']): LanguageModelV3GenerateResult {
  const tool = content.some((part) => part.type === 'tool-call');
  return {
    content,
    finishReason: { unified: tool ? 'tool-calls' : 'stop', raw: undefined },
    usage: {
      inputTokens: { total: 120, noCache: 120, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 24, text: 24, reasoning: undefined },
    },
    warnings: [],
  };
}

/** The tool Gemini calls: a fixed demo rate of 1.08. */
export const convertCurrency = defineTool({
  name: 'convert_currency',
  description: 'Converts an amount between currencies at a fixed demo rate',
  parameters: z.object({ amount: z.number(), from: z.string(), to: z.string() }),
  execute: ({ amount, from, to }) => ({ amount, from, to, converted: Math.round(amount * 108) / 100 }),
});
