// An agent that uses the tools of an MCP server: here our own sandbox, served by `hopgen-sandbox mcp`.
// Runs offline: the model is scripted; the code really runs in an isolated local sandbox.
import { AssistantAgent, contentToString, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { connectMcpServer } from '@hopgen/mcp';

const sandbox = await connectMcpServer({
  name: 'sandbox',
  command: 'npx',
  args: ['hopgen-sandbox', 'mcp'],
  allowedTools: ['run_code'],
  stderr: 'ignore',
});

const model = new ScriptedModelClient({
  replies: (request, index) =>
    index === 0
      ? {
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: {
                name: 'run_code',
                arguments: JSON.stringify({ code: 'print(sum(range(1, 101)))' }),
              },
            },
          ],
        }
      : `The sandbox says: ${contentToString(request.messages.at(-1)?.content).split('Code output: ')[1]?.trim()}. TERMINATE`,
});
const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { modelClient: model } });
const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', codeExecutionConfig: false });
sandbox.registerTools({ caller: assistant, executor: user });

try {
  await user.initiateChat(assistant, { message: 'What is 1 + 2 + ... + 100?', maxTurns: 2 });
} finally {
  await sandbox.close();
}
