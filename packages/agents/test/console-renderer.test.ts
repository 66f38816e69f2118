import { PassThrough } from 'node:stream';
import { ConsoleRenderer, ConversableAgent } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { renderer: new ConsoleRenderer({ stream, color: false }), text: () => text };
}

const dashes = '-'.repeat(80);

// Expected strings are what AutoGen 0.2.40's `_print_received_message` prints for the same message.
describe('ConsoleRenderer, as AutoGen prints a received message', () => {
  it('prints an empty message with its empty line, like a non-empty one', async () => {
    const { renderer, text } = capture();
    const alice = new ConversableAgent({ name: 'alice', humanInputMode: 'NEVER', renderer });
    const bob = new ConversableAgent({ name: 'bob', humanInputMode: 'NEVER', renderer });
    await alice.send('hello', bob, { requestReply: false });
    await alice.send('', bob, { requestReply: false });
    expect(text()).toBe(`alice (to bob):\n\nhello\n\n${dashes}\nalice (to bob):\n\n\n\n${dashes}\n`);
  });

  it('sizes the star line under a tool banner to the banner, as AutoGen does', () => {
    const { renderer, text } = capture();
    renderer.messageReceived(
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a":1}' } }],
      },
      'assistant',
      'user',
    );
    renderer.messageReceived({ role: 'tool', tool_call_id: 'call_1', content: '3' }, 'user', 'assistant');
    const suggested = '***** Suggested tool call (call_1): add *****';
    const response = '***** Response from calling tool (call_1) *****';
    expect(text()).toBe(
      `assistant (to user):\n\n${suggested}\nArguments: \n{"a":1}\n${'*'.repeat(suggested.length)}\n\n${dashes}\n` +
        `user (to assistant):\n\n${response}\n3\n${'*'.repeat(response.length)}\n\n${dashes}\n`,
    );
  });
});
