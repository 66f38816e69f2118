import { AssistantAgent, defineTool, type Message, registerFunction, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient, type ScriptedReply } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelRequest } from '../src/model-clients/model-client.js';
import { buildPromptFromScratch } from '../src/reply/prompt-cache.js';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => a + b,
});

/**
 * A pair whose assistant checks, at every model call, that the prompt it was sent is byte for byte
 * the prompt rebuilt from the whole history, the way every turn built it before the prompt was kept.
 */
function checkedPair(answer: (index: number) => ScriptedReply) {
  const seen: string[] = [];
  const mismatches: number[] = [];
  let assistant: AssistantAgent | undefined;
  let user: UserProxyAgent | undefined;
  const client = new ScriptedModelClient({
    maxRecordedRequests: Number.POSITIVE_INFINITY,
    replies: (request: ModelRequest, index: number) => {
      const history = assistant!.chatMessages.get(user!) ?? [];
      const expected = JSON.stringify(buildPromptFromScratch(assistant!.systemMessage, history, 4));
      const sent = JSON.stringify(request.messages);
      seen.push(sent);
      if (sent !== expected) mismatches.push(index);
      return answer(index);
    },
  });
  assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: { modelClient: client },
    maxConsecutiveAutoReply: Number.MAX_SAFE_INTEGER,
  });
  user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: false,
    maxConsecutiveAutoReply: Number.MAX_SAFE_INTEGER,
    defaultAutoReply: 'Go on.',
    silent: true,
  });
  registerFunction(add, { caller: assistant, executor: user });
  return { assistant, user, client, seen, mismatches };
}

describe('the prompt kept between turns', () => {
  it('sends byte for byte the prompt rebuilt from the whole history, over a long chat with tool calls, a new system message and cleared histories', async () => {
    const pair = checkedPair((index) =>
      index % 7 === 3
        ? {
            content: null,
            tool_calls: [
              {
                id: `call_${index}`,
                type: 'function',
                function: { name: 'add', arguments: `{"a":${index},"b":1}` },
              },
            ],
          }
        : `Answer ${index}.`,
    );
    const { assistant, user } = pair;
    await user.initiateChat(assistant, { message: 'Start.', maxTurns: 600, silent: true });
    assistant.updateSystemMessage('You are terse.');
    await user.initiateChat(assistant, {
      message: 'Again.',
      maxTurns: 300,
      clearHistory: false,
      silent: true,
    });
    assistant.clearHistory(user, { preserve: 5 });
    await user.initiateChat(assistant, {
      message: 'Third.',
      maxTurns: 50,
      clearHistory: false,
      silent: true,
    });
    await user.initiateChat(assistant, { message: 'Fresh.', maxTurns: 50, silent: true });

    expect(pair.client.requestCount).toBe(1000);
    expect(pair.mismatches).toEqual([]);
    // The tool answers reached the prompt in their wire form, and the new system message replaced the old.
    expect(pair.seen.at(-1)).toContain('"content":"You are terse."');
    expect(
      pair.seen.some((prompt) => prompt.includes('{"role":"tool","content":"4","tool_call_id":"call_3"}')),
    ).toBe(true);
    // What the client kept is what it was sent, though the agent's prompt grew afterwards.
    expect(pair.client.requests.map((request) => JSON.stringify(request.messages))).toEqual(pair.seen);
  });

  it('drops older images from the prompt as before once more than maxImagesInPrompt are in it', async () => {
    const pair = checkedPair((index) => `Looked at chart ${index}.`);
    const { assistant, user } = pair;
    const chart = (index: number): Message['content'] => [
      { type: 'text', text: `chart ${index}` },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${index}` } },
    ];
    for (let index = 0; index < 8; index++) {
      await user.send({ role: 'user', content: chart(index) }, assistant, {
        requestReply: true,
        silent: true,
      });
    }
    expect(pair.client.requestCount).toBe(8);
    expect(pair.mismatches).toEqual([]);
    const last = pair.seen.at(-1)!;
    expect(last.split('"type":"image_url"')).toHaveLength(5);
    expect(last).toContain('"text":"<image>"');
  });
});
