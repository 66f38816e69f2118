import { type ContentPart, contentToString, InvalidMessageError } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';
import { normalizeMessage } from '../src/message.js';

describe('contentToString, as AutoGen content_str', () => {
  it('joins text parts without a separator and shows images as <image>', () => {
    expect(contentToString(null)).toBe('');
    expect(contentToString('plain')).toBe('plain');
    expect(
      contentToString([
        { type: 'text', text: 'a ' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
        { type: 'text', text: ' b' },
      ]),
    ).toBe('a <image> b');
  });

  it('refuses what is not a text or image part, with AutoGen’s words and the right shapes', () => {
    const cases: Array<[unknown, RegExp]> = [
      [['bare string'], /^Wrong content format: every element should be dict if the content is a list\./],
      [[null], /every element should be dict/],
      [
        [{ type: 'input_audio', input_audio: {} }],
        /^Wrong content format: unknown type input_audio within the content\./,
      ],
      [[{ text: 'no type' }], /unknown type undefined within the content/],
      [[{ type: 'text', text: 42 }], /a text part has no string `text`/],
      [{ type: 'text', text: 'not in a list' }, /content must be null, a string, or an array of parts/],
    ];
    for (const [content, message] of cases) {
      let thrown: unknown;
      try {
        contentToString(content as ContentPart[]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(content)).toBeInstanceOf(InvalidMessageError);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});

describe('normalizeMessage', () => {
  it('keeps the sender’s name on tool and function answers, as AutoGen does', () => {
    expect(
      normalizeMessage(
        { role: 'tool', tool_call_id: 'call_1', content: '3' },
        { role: 'user', name: 'runner' },
        'receive',
      ),
    ).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '3', name: 'runner' });
    expect(
      normalizeMessage(
        { role: 'function', name: 'add', content: '3' },
        { role: 'user', name: 'runner' },
        'receive',
      ),
    ).toEqual({ role: 'function', name: 'add', content: '3' });
  });
});
