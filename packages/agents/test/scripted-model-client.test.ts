import { InvalidOptionError } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';

const ask = (client: ScriptedModelClient, text: string) =>
  client.create({ messages: [{ role: 'user', content: text }] });

describe('ScriptedModelClient request log', () => {
  it('keeps only the latest 100 requests by default, and counts them all', async () => {
    const client = new ScriptedModelClient({ replies: () => 'ok' });
    for (let index = 0; index < 250; index++) await ask(client, `question ${index}`);
    expect(client.requestCount).toBe(250);
    expect(client.requests).toHaveLength(100);
    expect(client.requests[0]?.messages[0]?.content).toBe('question 150');
    expect(client.requests.at(-1)?.messages[0]?.content).toBe('question 249');
  });

  it('keeps every request with Infinity and none with 0', async () => {
    const all = new ScriptedModelClient({ replies: () => 'ok', maxRecordedRequests: Infinity });
    const none = new ScriptedModelClient({ replies: () => 'ok', maxRecordedRequests: 0 });
    for (let index = 0; index < 150; index++) {
      await ask(all, `question ${index}`);
      await ask(none, `question ${index}`);
    }
    expect(all.requests).toHaveLength(150);
    expect(none.requests).toHaveLength(0);
    expect(none.requestCount).toBe(150);
  });

  it('rejects a maxRecordedRequests that is not a count, naming the option', () => {
    expect(() => new ScriptedModelClient({ replies: [], maxRecordedRequests: -1 })).toThrow(
      InvalidOptionError,
    );
    expect(() => new ScriptedModelClient({ replies: [], maxRecordedRequests: 2.5 })).toThrow(
      /maxRecordedRequests/,
    );
  });
});
