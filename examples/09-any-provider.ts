/**
 * Example 9: any AI SDK provider, with config-list fallback: Claude is overloaded (HTTP 529), so Gemini
 * answers, calling a tool (scripted/09-any-provider.ts). Offline both are mock models; for real ones use
 * `anthropic(...)` from @ai-sdk/anthropic and `google(...)` from @ai-sdk/google.
 *   npx tsx examples/09-any-provider.ts
 */
import {
  AssistantAgent,
  includesTerminate,
  printUsageSummary,
  registerFunction,
  UserProxyAgent,
} from '@hopgen/agents';
import { AiSdkChatClient } from '@hopgen/ai-sdk';
import { claude, convertCurrency, gemini } from './scripted/09-any-provider.js';

const client = new AiSdkChatClient({
  // Prices in US dollars per 1,000 prompt and completion tokens.
  configList: [
    { languageModel: claude, price: [0.003, 0.015] },
    { languageModel: gemini, price: [0.0003, 0.0025] },
  ],
  maxRetries: 1,
  cacheSeed: null,
});
const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: client } });
const user = new UserProxyAgent({
  name: 'user',
  humanInputMode: 'NEVER',
  isTerminationMsg: includesTerminate,
});
registerFunction(convertCurrency, { caller: assistant, executor: user });

const result = await user.initiateChat(assistant, { message: 'How much is 250 EUR in USD?' });
const asked = (model: typeof claude) => model.doGenerateCalls.length;
console.log(`\nClaude was asked ${asked(claude)} times, Gemini ${asked(gemini)} times.`);
console.log(`Answer: ${result.summary}`);
printUsageSummary([assistant]);
