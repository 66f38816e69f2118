import { InvalidOptionError } from '../errors.js';
import type { LlmConfig } from '../llm-config.js';
import type { ModelClient } from './model-client.js';
import { OpenAIChatClient, rejectUnknownKeys } from './openai-chat-client.js';

/** The client an agent uses for an `llmConfig`: the given `modelClient`, or an `OpenAIChatClient` over `configList`. */
export function createModelClient(config: LlmConfig): ModelClient {
  rejectUnknownKeys(config);
  if (config.modelClient) return config.modelClient;
  const configList = config.configList ?? [];
  if (configList.length === 0 || configList.some((entry) => !entry.model)) {
    throw new InvalidOptionError(
      "llmConfig needs a model: give `modelClient`, or a non-empty `configList` whose every entry names a `model` (e.g. { configList: [{ model: 'gpt-4o-mini' }] }).",
    );
  }
  return new OpenAIChatClient(config);
}
