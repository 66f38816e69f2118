export { AiSdkChatClient, type AiSdkChatResponse } from './ai-sdk-chat-client.js';
export { AiSdkClientError, AiSdkOptionError, StreamBrokenError } from './errors.js';
export type { AiSdkChatClientOptions, AiSdkLanguageModel, AiSdkModelConfig } from './options.js';
export { toAiSdkPrompt, toAiSdkTools } from './prompt-conversion.js';
