// A small MCP server for the tests, built with the SDK's own server classes and run as a real process:
//   node --import tsx test-mcp-server.ts stdio
//   node --import tsx test-mcp-server.ts http <port>     (token from TEST_MCP_TOKEN)
// Every tool call that has an effect appends a line to the file named by TEST_MCP_RECORD_FILE, so a
// test counts side effects where they happen, even across a SIGKILL.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const recordFile = process.env.TEST_MCP_RECORD_FILE;

function record(line: string): void {
  if (recordFile) appendFileSync(recordFile, `${process.pid} ${line}\n`);
}

function buildServer(): McpServer {
  const server = new McpServer({ name: 'test-server', version: '1.0.0' });
  server.registerTool(
    'add',
    {
      description: 'Adds two numbers',
      inputSchema: { a: z.number().describe('first addend'), b: z.number().int().min(0) },
    },
    async ({ a, b }) => {
      record(`add ${a} ${b}`);
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  server.registerTool(
    'lookup.city',
    { description: 'Country of a city', inputSchema: { city: z.enum(['Paris', 'Lima']) } },
    async ({ city }) => ({ content: [{ type: 'text', text: city === 'Paris' ? 'France' : 'Peru' }] }),
  );
  server.registerTool('hang', { description: 'Starts and never finishes', inputSchema: {} }, async () => {
    record('hang started');
    await new Promise(() => undefined);
    return { content: [] };
  });
  server.registerTool('fail', { description: 'Always reports an error', inputSchema: {} }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'the reactor is offline' }],
  }));
  server.registerTool(
    'picture',
    { description: 'A one-pixel picture and its caption', inputSchema: {} },
    async () => ({
      content: [
        { type: 'text', text: 'a red dot' },
        { type: 'image', data: Buffer.from('not really a png').toString('base64'), mimeType: 'image/png' },
      ],
    }),
  );
  server.registerTool(
    'whoami',
    { description: 'The process id of this server', inputSchema: {}, outputSchema: { pid: z.number() } },
    async () => ({ content: [], structuredContent: { pid: process.pid } }),
  );
  return server;
}

async function serveStdio(): Promise<void> {
  await buildServer().connect(new StdioServerTransport());
}

async function serveHttp(port: number): Promise<void> {
  const token = Buffer.from(process.env.TEST_MCP_TOKEN ?? '');
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const authorized = (request: IncomingMessage) => {
    const given = Buffer.from((request.headers.authorization ?? '').replace(/^Bearer /, ''));
    return given.length === token.length && timingSafeEqual(given, token);
  };
  const http = createServer(async (request, response) => {
    if (!authorized(request)) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined && sessionId === undefined) {
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports.set(id, fresh);
        },
        onsessionclosed: (id) => {
          transports.delete(id);
          record(`session closed ${id}`);
        },
      });
      await buildServer().connect(fresh);
      transport = fresh;
    }
    if (transport === undefined) {
      // The spec's answer to a session this server does not know (for example after a restart).
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
      );
      return;
    }
    await transport.handleRequest(request, response);
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  process.stdout.write(`listening ${(http.address() as AddressInfo).port}\n`);
}

const [mode, port] = process.argv.slice(2);
if (mode === 'http') await serveHttp(Number(port ?? 0));
else await serveStdio();
