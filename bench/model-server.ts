import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A scripted answer: text, or no answer at all (the caller is killed while it waits). */
export type BenchReply = { content: string } | 'hang';

/**
 * A minimal OpenAI-compatible `/v1/chat/completions` server on 127.0.0.1 for benchmarks whose
 * agents run in other processes (the tests' server registers vitest hooks, so it cannot load here).
 * Answers plain JSON from `reply(messages)`.
 */
export async function startBenchModelServer(
  reply: (messages: { role: string; content: string }[]) => BenchReply,
): Promise<{ baseURL: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer(async (request, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
      model?: string;
      messages?: { role: string; content: string }[];
    };
    const answer = reply(body.messages ?? []);
    if (answer === 'hang') return;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
