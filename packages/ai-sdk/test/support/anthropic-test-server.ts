import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scripted tool use in an answer. */
export interface ScriptedToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** One scripted answer of the fake Anthropic Messages API. */
export type ScriptedAnswer =
  | {
      kind?: 'message';
      /** Text of the answer; a list is streamed in those fragments. */
      text?: string | string[];
      toolUses?: ScriptedToolUse[];
      /** @default the requested model */
      model?: string;
      usage?: { input_tokens: number; output_tokens: number };
    }
  /** An HTTP error with Anthropic's error body. */
  | { kind: 'error'; status: number; type: string; message: string; headers?: Record<string, string> };

/** A request the server received. */
export interface RecordedRequest {
  headers: IncomingMessage['headers'];
  body: any;
}

/** A running fake Anthropic server. */
export interface AnthropicTestServer {
  /** Base URL for `createAnthropic({ baseURL })`, ending in `/v1`. */
  baseURL: string;
  /** Every `/v1/messages` request received, in order. */
  requests: RecordedRequest[];
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

/** The API key the fake server accepts; any other gets Anthropic's 401. */
export const TEST_API_KEY = 'sk-ant-test';

/**
 * Starts a small Anthropic Messages API (`POST /v1/messages`) on 127.0.0.1 that answers from a script, as
 * JSON or, when the request asks for `stream: true`, as Anthropic's server-sent events.
 */
export async function startAnthropicTestServer(
  script: (request: RecordedRequest, index: number) => ScriptedAnswer,
): Promise<AnthropicTestServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    if (incoming.method !== 'POST' || incoming.url !== '/v1/messages') {
      sendError(response, 404, 'not_found_error', `No route ${incoming.method} ${incoming.url}`);
      return;
    }
    if (incoming.headers['x-api-key'] !== TEST_API_KEY) {
      sendError(response, 401, 'authentication_error', 'invalid x-api-key');
      return;
    }
    if (typeof incoming.headers['anthropic-version'] !== 'string') {
      sendError(response, 400, 'invalid_request_error', 'anthropic-version header is required');
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const recorded = { headers: incoming.headers, body };
    requests.push(recorded);
    const answer = script(recorded, requests.length - 1);
    if (answer.kind === 'error') {
      sendError(response, answer.status, answer.type, answer.message, answer.headers);
      return;
    }
    if (body.stream === true) sendStream(response, body, answer);
    else sendJson(response, 200, messageBody(body, answer));
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

type MessageAnswer = Exclude<ScriptedAnswer, { kind: 'error' }>;

function messageBody(request: any, answer: MessageAnswer) {
  const text = Array.isArray(answer.text) ? answer.text.join('') : answer.text;
  const content: unknown[] = [];
  if (text !== undefined) content.push({ type: 'text', text });
  for (const use of answer.toolUses ?? []) content.push({ type: 'tool_use', ...use });
  return {
    id: `msg_${Math.random().toString(36).slice(2)}`,
    type: 'message',
    role: 'assistant',
    model: answer.model ?? request.model,
    content,
    stop_reason: answer.toolUses?.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: answer.usage ?? { input_tokens: 10, output_tokens: 5 },
  };
}

function sendStream(response: ServerResponse, request: any, answer: MessageAnswer): void {
  const full = messageBody(request, answer);
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const event = (type: string, data: Record<string, unknown>) =>
    response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('message_start', {
    message: {
      ...full,
      content: [],
      stop_reason: null,
      usage: { input_tokens: full.usage.input_tokens, output_tokens: 1 },
    },
  });
  let index = 0;
  const fragments = answer.text === undefined ? [] : Array.isArray(answer.text) ? answer.text : [answer.text];
  if (fragments.length > 0) {
    event('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const text of fragments)
      event('content_block_delta', { index, delta: { type: 'text_delta', text } });
    event('content_block_stop', { index });
    index++;
  }
  for (const use of answer.toolUses ?? []) {
    event('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: use.id, name: use.name, input: {} },
    });
    const json = JSON.stringify(use.input);
    const middle = Math.floor(json.length / 2);
    for (const partial_json of [json.slice(0, middle), json.slice(middle)]) {
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
    }
    event('content_block_stop', { index });
    index++;
  }
  event('message_delta', {
    delta: { stop_reason: full.stop_reason, stop_sequence: null },
    usage: { output_tokens: full.usage.output_tokens },
  });
  event('message_stop', {});
  response.end();
}

function sendError(
  response: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ type: 'error', error: { type, message } }));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
