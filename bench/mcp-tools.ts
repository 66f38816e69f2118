import { defineTool, type Message, UserProxyAgent } from '@hopgen/agents';
import { connectMcpServer } from '@hopgen/mcp';
import { z } from 'zod';
import type { FigureSet } from './figures.js';
import type { BenchSettings } from './settings.js';

// The MCP package's own test server (SDK server classes over stdio): its `add` tool does what the local one does.
const SERVER_SCRIPT = new URL('../packages/mcp/test/support/test-mcp-server.ts', import.meta.url).pathname;
const REPOSITORY_ROOT = new URL('../', import.meta.url).pathname;

/**
 * What an MCP tool call adds to a tool call: the same `add` tool run by an executing agent, once as a
 * local hopgen tool and once through `@hopgen/mcp` to a stdio server, interleaved call by call so both
 * see the same machine. The added latency is the difference of each pair.
 */
export async function measureMcpTools(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const local = defineTool({
    name: 'add',
    description: 'Adds two numbers',
    parameters: z.object({ a: z.number(), b: z.number().int().min(0) }),
    execute: ({ a, b }) => String(a + b),
  });
  const server = await connectMcpServer({
    name: 'bench',
    command: process.execPath,
    args: ['--import', 'tsx', SERVER_SCRIPT, 'stdio'],
    cwd: REPOSITORY_ROOT,
    allowedTools: ['add'],
    stderr: 'ignore',
  });
  try {
    const localAgent = executor([local]);
    const mcpAgent = executor(server.tools);
    const localMicroseconds: number[] = [];
    const mcpMicroseconds: number[] = [];
    const addedMicroseconds: number[] = [];
    const { warmup, iterations } = settings.tools;
    for (let index = 0; index < warmup + iterations; index++) {
      const localTime = await timeCall(localAgent, index);
      const mcpTime = await timeCall(mcpAgent, index);
      if (index < warmup) continue;
      localMicroseconds.push(localTime);
      mcpMicroseconds.push(mcpTime);
      addedMicroseconds.push(mcpTime - localTime);
    }
    figures.add('tools.local.call', 'Local tool call through an executing agent', 'µs', localMicroseconds);
    figures.add(
      'tools.mcp-stdio.call',
      'MCP tool call over stdio through an executing agent',
      'µs',
      mcpMicroseconds,
      {
        baselineId: 'tools.local.call',
      },
    );
    figures.add(
      'tools.mcp-stdio.added',
      'Added by MCP over stdio (per pair: MCP minus local)',
      'µs',
      addedMicroseconds,
    );
  } finally {
    await server.close();
  }
}

function executor(tools: Parameters<UserProxyAgent['registerForExecution']>[0][]): UserProxyAgent {
  const agent = new UserProxyAgent({ name: 'executor', humanInputMode: 'NEVER', codeExecutionConfig: false });
  for (const tool of tools) agent.registerForExecution(tool);
  return agent;
}

async function timeCall(agent: UserProxyAgent, index: number): Promise<number> {
  const call: Message = {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: `call_${index}`, type: 'function', function: { name: 'add', arguments: `{"a":${index},"b":2}` } },
    ],
  };
  const started = performance.now();
  const reply = (await agent.generateReply({ messages: [call] })) as Message;
  const elapsed = (performance.now() - started) * 1000;
  if (reply.content !== String(index + 2)) throw new Error(`tool answered ${JSON.stringify(reply.content)}`);
  return elapsed;
}
