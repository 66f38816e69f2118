import { getEventListeners } from 'node:events';
import { AssistantAgent, InMemoryRunStore, startChat, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';

describe('a durable run waiting for a person', () => {
  it('keeps one abort listener on its signal however long it waits (not one per poll)', async () => {
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: new ScriptedModelClient({ replies: ['Hello.'] }) },
      silent: true,
    });
    const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', silent: true });
    const controller = new AbortController();
    const run = await startChat(user, assistant, {
      message: 'Hi.',
      store: new InMemoryRunStore(),
      signal: controller.signal,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    const listeners = () => getEventListeners(controller.signal, 'abort').length;
    const early = listeners();
    // The answer is polled every 50 ms: a second of waiting is about twenty polls.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(listeners()).toBeLessThanOrEqual(early);
    controller.abort();
    await run.result.catch(() => undefined);
  });
});
