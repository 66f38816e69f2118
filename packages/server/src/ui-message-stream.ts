import type { ServerResponse } from 'node:http';
import type { RunEvent } from '@hopgen/agents';
import { INTERNAL_AGENTS, isConversationMessage } from '../page/run-state.js';
import { drained, startEventStream } from './event-stream.js';

/**
 * Writes a run as the Vercel AI SDK's UI message stream (protocol v1: SSE of JSON chunks, then
 * `[DONE]`), so `useChat` and `readUIMessageStream` render it as one assistant message: each agent
 * message is a text part (streamed from `text-delta` events) preceded by a `data-speaker` part;
 * code runs, requests and the chat's end are `data-code`, `data-request` and `data-termination`
 * parts, updated in place by their id as the run goes on.
 */
export async function writeUiMessageStream(
  response: ServerResponse,
  runId: string,
  events: AsyncIterable<RunEvent>,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<void> {
  startEventStream(response, { ...headers, 'x-vercel-ai-ui-message-stream': 'v1' });
  const write = (chunk: Record<string, unknown>) => response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  const open = new Set<string>();
  const code = new Map<string, { agent: unknown; codeBlocks: unknown; output: string }>();
  write({ type: 'start', messageId: runId });
  try {
    for await (const event of events) {
      await drained(response, signal);
      if (signal.aborted) return;
      const data = event.data as Record<string, any>;
      switch (event.type) {
        case 'text-delta': {
          if (INTERNAL_AGENTS.has(data['agent'])) break;
          const id = String(data['messageId']);
          if (!open.has(id)) {
            open.add(id);
            write({ type: 'data-speaker', id: `speaker-${id}`, data: { sender: data['agent'] } });
            write({ type: 'text-start', id });
          }
          write({ type: 'text-delta', id, delta: data['delta'] });
          break;
        }
        case 'message-sent': {
          if (!isConversationMessage(data)) break;
          const streamed = data['messageId'] !== undefined && open.delete(String(data['messageId']));
          if (streamed) {
            write({ type: 'text-end', id: String(data['messageId']) });
            break;
          }
          const content = data['message']?.content;
          const text = typeof content === 'string' ? content : JSON.stringify(content ?? '');
          write({
            type: 'data-speaker',
            id: `speaker-${event.key}`,
            data: { sender: data['sender'], recipient: data['recipient'] },
          });
          write({ type: 'text-start', id: event.key });
          write({ type: 'text-delta', id: event.key, delta: text });
          write({ type: 'text-end', id: event.key });
          break;
        }
        case 'code-execution-start':
          code.set(data['agent'], { agent: data['agent'], codeBlocks: data['codeBlocks'], output: '' });
          write({
            type: 'data-code',
            id: `code-${event.key}`,
            data: { ...code.get(data['agent']), status: 'running' },
          });
          break;
        case 'code-output': {
          const running = code.get(data['agent']);
          if (!running) break;
          running.output += (data['chunks'] ?? []).map((chunk: { text: string }) => chunk.text).join('');
          break;
        }
        case 'code-execution-end': {
          const result = data['result'] ?? {};
          write({
            type: 'data-code',
            id: `code-${event.key.replace(/\.end$/, '')}`,
            data: {
              agent: data['agent'],
              codeBlocks: data['codeBlocks'],
              status: 'done',
              exitCode: result.exitCode,
              output: result.output,
            },
          });
          code.delete(data['agent']);
          break;
        }
        case 'human-input-requested':
        case 'approval-requested':
          write({
            type: 'data-request',
            id: `request-${event.key}`,
            data: { ...data, requestId: event.key, kind: event.type.replace('-requested', ''), open: true },
          });
          break;
        case 'human-input-provided':
        case 'approval-decided': {
          // A data part with the same id replaces the earlier one: the answered request says all again.
          const requestId = event.key.replace(/\.end$/, '');
          const kind = event.type === 'approval-decided' ? 'approval' : 'human-input';
          write({
            type: 'data-request',
            id: `request-${requestId}`,
            data: { ...data, requestId, kind, open: false },
          });
          break;
        }
        case 'chat-terminated':
          if (!INTERNAL_AGENTS.has(data['agent'])) {
            write({
              type: 'data-termination',
              id: 'termination',
              data: { reason: data['reason'], detail: data['detail'] },
            });
          }
          break;
        case 'run-failed':
          write({ type: 'error', errorText: String(data['error'] ?? 'The run failed.') });
          break;
      }
    }
    if (!signal.aborted) {
      write({ type: 'finish' });
      response.write('data: [DONE]\n\n');
    }
  } finally {
    response.end();
  }
}
