// Run by openai-chat-client.test.ts without OPENAI_API_KEY: a user's first chat, error left uncaught,
// so the test sees exactly what Node prints.
import { AssistantAgent, UserProxyAgent } from '../../src/index.js';

const assistant = new AssistantAgent({
  name: 'assistant',
  llmConfig: { configList: [{ model: 'gpt-4o-mini' }] },
});
const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', codeExecutionConfig: false });
await user.initiateChat(assistant, { message: 'hi', maxTurns: 1 });
