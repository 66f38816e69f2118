/**
 * Example 9: any AI SDK provider, with AutoGen's config-list fallback across providers. The assistant's
 * first choice is Anthropic's Claude; it is overloaded (HTTP 529) on every attempt, so after the retries
 * the client falls back to Google's Gemini, which calls a tool and answers. Offline: both models are the
 * AI SDK's own mock models with scripted answers. For the real services, replace them with
 * `anthropic('claude-sonnet-4-5')` from @ai-sdk/anthropic and `google('gemini-2.5-flash')` from @ai-sdk/google.
 *
 *   npx tsx examples/09-any-provider.ts
 */
import type { LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import {
  AssistantAgent,
  contentToString,
  defineTool,
  printUsageSummary,
  registerFunction,
  UserProxyAgent,
} from '@hopgen/agents';
import { AiSdkChatClient } from '@hopgen/ai-sdk';
import { APICallError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';

const claude = new MockLanguageModelV3({
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

const gemini = new MockLanguageModelV3({
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

const convertCurrency = defineTool({
  name: 'convert_currency',
  description: 'Converts an amount between two currencies at a fixed demo rate',
  parameters: z.object({ amount: z.number(), from: z.string(), to: z.string() }),
  execute: ({ amount, from, to }) => ({ amount, from, to, converted: Math.round(amount * 1.08 * 100) / 100 }),
});

const client = new AiSdkChatClient({
  configList: [
    { languageModel: claude, price: [0.003, 0.015] },
    { languageModel: gemini, price: [0.0003, 0.0025] },
  ],
  maxRetries: 1,
  retryBaseDelayMs: 200,
  cacheSeed: null,
});
const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: client } });
const user = new UserProxyAgent({
  name: 'user',
  humanInputMode: 'NEVER',
  isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
});
registerFunction(convertCurrency, { caller: assistant, executor: user });

const result = await user.initiateChat(assistant, { message: 'How much is 250 EUR in USD?' });
console.log(
  `\nClaude was asked ${claude.doGenerateCalls.length} times, Gemini ${gemini.doGenerateCalls.length} times.`,
);
console.log(`Answer: ${result.summary}`);
printUsageSummary([assistant]);
