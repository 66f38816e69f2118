import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** A scripted tool call in a reply. `arguments` given as a list is streamed in those pieces. */
export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: string | string[];
}

/** One scripted answer of the test server. */
export type ScriptedReply =
  | {
      kind?: 'completion';
      /** Text of the answer; a list is streamed in those fragments (and joined for plain JSON). */
      content?: string | string[] | null;
      toolCalls?: ScriptedToolCall[];
      /** @default the requested model */
      model?: string;
      usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number };
      finishReason?: string;
      /** Answer with an empty `choices` list. */
      noChoices?: boolean;
      /** When streaming, drop the connection after this many chunks. */
      dropAfterChunks?: number;
      /** When streaming, go silent (without ending) after this many chunks. */
      hangAfterChunks?: number;
    }
  /** An HTTP error with OpenAI's error body. */
  | { kind: 'error'; status: number; message?: string; code?: string; headers?: Record<string, string> }
  /** Never answers (until the client gives up or the server closes). */
  | { kind: 'hang' }
  /** A raw body, for broken answers. */
  | { kind: 'raw'; status: number; body: string; contentType?: string };

/** A request the server received. */
export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

/** The script: answers in order, or a function of the request (and its 0-based number). */
export type Script = ScriptedReply[] | ((request: RecordedRequest, index: number) => ScriptedReply);

/** A running OpenAI-compatible test server. */
export interface OpenAITestServer {
  /** Base URL for the `openai` SDK, ending in `/v1`. */
  baseURL: string;
  /** Every chat-completion request received, in order. */
  requests: RecordedRequest[];
  /** Stops the server and drops open connections (including hanging ones). */
  close(): Promise<void>;
}

/**
 * Starts an OpenAI-compatible `/v1/chat/completions` server on 127.0.0.1 that answers from a script, in
 * plain JSON or as SSE when the request asks for `stream: true`.
 */
export async function startOpenAITestServer(script: Script): Promise<OpenAITestServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (incoming.method !== 'POST' || incoming.url !== '/v1/chat/completions') {
      sendJson(response, 404, {
        error: { message: `No route ${incoming.method} ${incoming.url}`, type: 'invalid_request_error' },
      });
      return;
    }
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      sendJson(response, 400, {
        error: { message: 'Request body is not JSON', type: 'invalid_request_error' },
      });
      return;
    }
    const recorded: RecordedRequest = { path: incoming.url, headers: incoming.headers, body };
    const index = requests.length;
    requests.push(recorded);
    const reply = typeof script === 'function' ? script(recorded, index) : script[index];
    if (reply === undefined) {
      sendJson(response, 400, {
        error: {
          message: `openai-test-server: no scripted reply left for request #${index + 1}`,
          type: 'invalid_request_error',
        },
      });
      return;
    }
    answer(response, body, reply);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(response: ServerResponse, body: any, reply: ScriptedReply): void {
  switch (reply.kind) {
    case 'hang':
      return;
    case 'raw':
      response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
      response.end(reply.body);
      return;
    case 'error':
      sendJson(
        response,
        reply.status,
        {
          error: {
            message: reply.message ?? `scripted error ${reply.status}`,
            type: 'server_error',
            code: reply.code ?? null,
          },
        },
        reply.headers,
      );
      return;
    default:
      if (body.stream === true) streamCompletion(response, body, reply);
      else sendJson(response, 200, completion(body, reply));
  }
}

let nextId = 0;

function completion(body: any, reply: Extract<ScriptedReply, { kind?: 'completion' }>) {
  const content = Array.isArray(reply.content) ? reply.content.join('') : (reply.content ?? null);
  const toolCalls = reply.toolCalls?.map((call, index) => ({
    id: call.id ?? `call_${++nextId}_${index}`,
    type: 'function',
    function: {
      name: call.name,
      arguments: Array.isArray(call.arguments) ? call.arguments.join('') : call.arguments,
    },
  }));
  const usage = usageOf(reply);
  return {
    id: `chatcmpl-${++nextId}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model ?? body.model,
    choices: reply.noChoices
      ? []
      : [
          {
            index: 0,
            message: {
              role: 'assistant',
              content,
              ...(toolCalls ? { tool_calls: toolCalls } : {}),
              refusal: null,
            },
            finish_reason: reply.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
            logprobs: null,
          },
        ],
    ...(usage ? { usage } : {}),
  };
}

function usageOf(reply: Extract<ScriptedReply, { kind?: 'completion' }>) {
  if (!reply.usage) return undefined;
  return {
    prompt_tokens: reply.usage.prompt_tokens,
    completion_tokens: reply.usage.completion_tokens,
    total_tokens: reply.usage.total_tokens ?? reply.usage.prompt_tokens + reply.usage.completion_tokens,
  };
}

function streamCompletion(
  response: ServerResponse,
  body: any,
  reply: Extract<ScriptedReply, { kind?: 'completion' }>,
) {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const id = `chatcmpl-${++nextId}`;
  const model = reply.model ?? body.model;
  const created = Math.floor(Date.now() / 1000);
  let sent = 0;
  let dropped = false;
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    if (dropped) return;
    if (reply.hangAfterChunks !== undefined && sent >= reply.hangAfterChunks) {
      dropped = true;
      return;
    }
    if (reply.dropAfterChunks !== undefined && sent >= reply.dropAfterChunks) {
      dropped = true;
      // Let the chunks already written reach the client, then cut the connection mid-body.
      setTimeout(() => response.destroy(), 50);
      return;
    }
    sent++;
    response.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`,
    );
  };
  if (!reply.noChoices) {
    send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    const fragments = Array.isArray(reply.content) ? reply.content : reply.content ? [reply.content] : [];
    for (const fragment of fragments) send([{ index: 0, delta: { content: fragment }, finish_reason: null }]);
    for (const [index, call] of (reply.toolCalls ?? []).entries()) {
      const pieces = Array.isArray(call.arguments) ? call.arguments : [call.arguments];
      send([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: call.id ?? `call_${++nextId}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ]);
      for (const piece of pieces)
        send([
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ]);
    }
    send([
      { index: 0, delta: {}, finish_reason: reply.finishReason ?? (reply.toolCalls ? 'tool_calls' : 'stop') },
    ]);
  }
  const usage = usageOf(reply);
  if (usage && body.stream_options?.include_usage) send([], { usage });
  if (!dropped) response.end('data: [DONE]\n\n');
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * For a test file: a function that starts a test server, and an `afterEach` that closes every server
 * started during the test.
 */
export function useOpenAITestServers(): (script: Script) => Promise<OpenAITestServer> {
  const started: OpenAITestServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (script) => {
    const server = await startOpenAITestServer(script);
    started.push(server);
    return server;
  };
}
