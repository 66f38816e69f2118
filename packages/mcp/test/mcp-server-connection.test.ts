import { AssistantAgent, contentToString, type Message, UserProxyAgent } from '@hopgen/agents';
import {
  connectMcpServer,
  InvalidMcpOptionError,
  type McpConnectionRestoredEvent,
  type McpServerConnection,
  McpServerUnavailableError,
} from '@hopgen/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import {
  type HttpTestServer,
  processAlive,
  type RecordFile,
  recordFile,
  startHttpServer,
  stdioServer,
  waitFor,
} from './support/test-servers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newRecord(): RecordFile {
  const record = recordFile();
  cleanups.push(() => record.remove());
  return record;
}

async function connect(options: Parameters<typeof connectMcpServer>[0]): Promise<McpServerConnection> {
  const connection = await connectMcpServer(options);
  cleanups.push(() => connection.close());
  return connection;
}

async function httpServer(record: RecordFile, port = 0): Promise<HttpTestServer> {
  const server = await startHttpServer(record, port);
  cleanups.push(() => server.kill());
  return server;
}

/** Runs one tool call the way an executing agent does, and returns the text the model would get. */
async function runToolCall(connection: McpServerConnection, name: string, args: unknown): Promise<string> {
  const executor = new UserProxyAgent({
    name: 'executor',
    humanInputMode: 'NEVER',
    codeExecutionConfig: false,
  });
  for (const tool of connection.tools) executor.registerForExecution(tool);
  const call: Message = {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: JSON.stringify(args) } }],
  };
  const reply = (await executor.generateReply({ messages: [call] })) as Message;
  return contentToString(reply.content);
}

describe('MCP client tools over stdio', () => {
  it("offers the server's tools with the JSON schemas the server lists", async () => {
    const record = newRecord();
    const options = stdioServer('math', record);
    const raw = new Client({ name: 'raw', version: '1' });
    await raw.connect(new StdioClientTransport({ ...options, args: [...options.args!] }));
    cleanups.push(() => raw.close());
    const listed = (await raw.listTools()).tools;

    const connection = await connect(options);
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { configList: [{ model: 'gpt-4o-mini', apiKey: 'sk-test' }] },
    });
    const executor = new UserProxyAgent({
      name: 'executor',
      humanInputMode: 'NEVER',
      codeExecutionConfig: false,
    });
    connection.registerTools({ caller: assistant, executor });

    const add = listed.find((tool) => tool.name === 'add')!;
    const { $schema: _ignored, ...addSchema } = add.inputSchema as Record<string, unknown>;
    const offered = assistant.llmTools.find((tool) => tool.function.name === 'add')!;
    expect(offered).toEqual({
      type: 'function',
      function: { name: 'add', description: 'Adds two numbers', parameters: addSchema },
    });
    // `lookup.city` is not a valid OpenAI name: offered as lookup_city, called by its MCP name.
    expect(assistant.llmTools.map((tool) => tool.function.name).sort()).toEqual([
      'add',
      'fail',
      'hang',
      'lookup_city',
      'picture',
      'whoami',
    ]);
    expect(await runToolCall(connection, 'lookup_city', { city: 'Lima' })).toBe('Peru');
    expect(executor.canExecuteFunction(['add', 'lookup_city'])).toBe(true);
  });

  it('runs the tool a model calls and sends its answer back to the model', async () => {
    const record = newRecord();
    const connection = await connect(stdioServer('math', record));
    const model: OpenAITestServer = await startOpenAITestServer([
      { toolCalls: [{ id: 'call_add', name: 'add', arguments: '{"a": 2.5, "b": 3}' }] },
      { content: 'The sum is 5.5. TERMINATE' },
    ]);
    cleanups.push(() => model.close());
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: {
        configList: [{ model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'sk-test' }],
        cacheSeed: null,
      },
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      codeExecutionConfig: false,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    });
    connection.registerTools({ caller: assistant, executor: user });

    const result = await user.initiateChat(assistant, { message: 'What is 2.5 + 3?', silent: true });

    expect(model.requests[0]!.body.tools.map((tool: any) => tool.function.name)).toContain('add');
    expect(model.requests[1]!.body.messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'call_add',
      content: '5.5',
    });
    expect(record.lines()).toEqual(['add 2.5 3']);
    // AutoGen's last-message summary drops the termination word.
    expect(result.summary).toBe('The sum is 5.5. ');
  });

  it('answers invalid arguments with readable issues and never calls the server', async () => {
    const record = newRecord();
    const connection = await connect(stdioServer('math', record));
    const answer = await runToolCall(connection, 'add', { a: 'two', b: -1 });
    expect(answer).toBe(
      'Error: Invalid arguments for function add:\n- a: Invalid input: expected number, received string\n- b: Too small: expected number to be >=0',
    );
    expect(record.lines()).toEqual([]);
  });

  it("returns a tool's own error, and its non-text results, as text for the model", async () => {
    const connection = await connect(stdioServer('math', newRecord()));
    expect(await runToolCall(connection, 'fail', {})).toBe('Error: the reactor is offline');
    expect(await runToolCall(connection, 'picture', {})).toBe('a red dot\n[image image/png, 16 bytes]');
    expect(JSON.parse(await runToolCall(connection, 'whoami', {}))).toEqual({ pid: connection.processId });
  });

  it('offers only the allowed tools, never the blocked ones, and names a missing tool with the fix', async () => {
    const record = newRecord();
    const allowed = await connect(
      stdioServer('math', record, { allowedTools: ['add', 'whoami'], blockedTools: ['whoami'] }),
    );
    expect(allowed.tools.map((tool) => tool.name)).toEqual(['add']);
    const prefixed = await connect(
      stdioServer('math', record, { prefixToolNames: true, blockedTools: ['hang'] }),
    );
    expect(prefixed.tools.map((tool) => tool.name)).toEqual([
      'math_add',
      'math_lookup_city',
      'math_fail',
      'math_picture',
      'math_whoami',
    ]);
    expect(await runToolCall(prefixed, 'math_add', { a: 1, b: 1 })).toBe('2');

    const failure = connectMcpServer(stdioServer('math', record, { allowedTools: ['add', 'subtract'] }));
    await expect(failure).rejects.toThrow(InvalidMcpOptionError);
    await expect(failure).rejects.toThrow(
      'MCP server "math" has no tool "subtract" (named in `allowedTools`). Its tools: add, lookup.city, hang, fail, picture, whoami.',
    );
  });

  it('fails only the tools of a server killed mid-call, then starts it again at the next call', async () => {
    const record = newRecord();
    const doomed = await connect(stdioServer('doomed', record));
    const healthy = await connect(stdioServer('healthy', record));
    const firstPid = doomed.processId!;
    const lost = new Promise((resolve) => doomed.once('connection-lost', resolve));

    const hanging = runToolCall(doomed, 'hang', {});
    await waitFor(() => record.lines().includes('hang started'), 'the hang tool to start');
    process.kill(firstPid, 'SIGKILL');

    const answer = await hanging;
    expect(answer).toMatch(
      /^Error: MCP server doomed went away during the call to hang \(.*\); the call may or may not have taken effect\. Its tools reconnect at the next call\.$/,
    );
    expect(await lost).toEqual({ server: 'doomed', reason: 'the server process exited' });
    expect(await runToolCall(healthy, 'add', { a: 1, b: 2 })).toBe('3');

    const restored = new Promise<McpConnectionRestoredEvent>((resolve) =>
      doomed.once('connection-restored', resolve),
    );
    expect(await runToolCall(doomed, 'add', { a: 4, b: 5 })).toBe('9');
    const { processId } = await restored;
    expect(processId).not.toBe(firstPid);
    expect(processAlive(firstPid)).toBe(false);
    // Side effects where they happen: one hang (never retried), one add per server, each by the right process.
    expect(record.entries()).toEqual([
      { pid: firstPid, line: 'hang started' },
      { pid: healthy.processId, line: 'add 1 2' },
      { pid: processId, line: 'add 4 5' },
    ]);
  });

  it('stops the server process on close() and refuses later calls with the fix', async () => {
    const connection = await connectMcpServer(stdioServer('math', newRecord()));
    const pid = connection.processId!;
    expect(processAlive(pid)).toBe(true);
    await connection.close();
    expect(processAlive(pid)).toBe(false);
    expect(connection.connected).toBe(false);
    expect(await runToolCall(connection, 'add', { a: 1, b: 1 })).toBe(
      'Error: The connection to MCP server math was closed with close(); connect again with connectMcpServer().',
    );
  });

  it('names the command when the server cannot start', async () => {
    const failure = connectMcpServer({
      name: 'ghost',
      command: '/nonexistent/mcp-server',
      connectTimeoutMs: 5_000,
      stderr: 'ignore',
    });
    await expect(failure).rejects.toThrow(McpServerUnavailableError);
    await expect(failure).rejects.toThrow(
      /^MCP server ghost cannot be reached \(.*\)\. Check that `\/nonexistent\/mcp-server` starts an MCP server on stdio\.$/,
    );
  });
});

describe('MCP client tools over streamable HTTP', () => {
  it('needs the token, and calls tools with it', async () => {
    const record = newRecord();
    const server = await httpServer(record);
    await expect(connectMcpServer(server.options('remote', { headers: {} }))).rejects.toThrow(
      /^MCP server remote cannot be reached \(HTTP 401: .*\)\. Check that the server at http:\/\/127\.0\.0\.1:\d+\/mcp is running and that `headers` carry its token\.$/,
    );
    const connection = await connect(server.options('remote'));
    expect(await runToolCall(connection, 'add', { a: 20, b: 22 })).toBe('42');
    expect(record.lines()).toEqual(['add 20 22']);
  });

  it('reconnects with a new session after the server restarts, without running a call twice', async () => {
    const record = newRecord();
    const first = await httpServer(record);
    const connection = await connect(first.options('remote'));
    expect(await runToolCall(connection, 'add', { a: 1, b: 1 })).toBe('2');
    await first.kill();

    expect(await runToolCall(connection, 'add', { a: 2, b: 2 })).toMatch(
      /^Error: MCP server remote went away during the call to add \(/,
    );

    const second = await httpServer(record, first.port);
    const restored = new Promise((resolve) => connection.once('connection-restored', resolve));
    expect(await runToolCall(connection, 'add', { a: 3, b: 3 })).toBe('6');
    expect(await restored).toEqual({ server: 'remote', processId: null });
    expect(record.entries()).toEqual([
      { pid: first.child.pid, line: 'add 1 1' },
      { pid: second.child.pid, line: 'add 3 3' },
    ]);
  });

  it('deletes its session on close()', async () => {
    const record = newRecord();
    const server = await httpServer(record);
    const connection = await connectMcpServer(server.options('remote'));
    await connection.close();
    await waitFor(
      () => record.lines().some((line) => line.startsWith('session closed')),
      'the session to close',
    );
    expect(record.lines()).toHaveLength(1);
  });
});
