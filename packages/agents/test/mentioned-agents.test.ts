import { describe, expect, it } from 'vitest';
import { mentionedAgents } from '../src/group-chat/mentioned-agents.js';
import { formatTemplate, pythonListRepr, pythonStringRepr } from '../src/group-chat/python-format.js';

const agents = (...names: string[]) => names.map((name) => ({ name }));

describe('mentionedAgents', () => {
  it('counts whole-word, case-sensitive mentions', () => {
    expect(mentionedAgents('Speaker: alice', agents('alice', 'bob'))).toEqual({ alice: 1 });
    expect(mentionedAgents('alice, then alice again, not Alice', agents('alice'))).toEqual({ alice: 2 });
    expect(mentionedAgents('bob-alice', agents('alice', 'bob'))).toEqual({ alice: 1, bob: 1 });
    expect(mentionedAgents('alice_bob', agents('alice', 'bob'))).toEqual({});
    expect(mentionedAgents('samantha', agents('sam'))).toEqual({});
    expect(mentionedAgents('', agents('sam'))).toEqual({});
  });

  it('matches an underscore name written with a space or an escaped underscore', () => {
    const writer = agents('Story_writer');
    expect(mentionedAgents('Story_writer', writer)).toEqual({ Story_writer: 1 });
    expect(mentionedAgents('Story writer', writer)).toEqual({ Story_writer: 1 });
    expect(mentionedAgents('Story\\_writer', writer)).toEqual({ Story_writer: 1 });
    expect(mentionedAgents('Story-writer', writer)).toEqual({});
  });

  it('treats letters and digits of every script as word characters, like Python', () => {
    expect(mentionedAgents('José', agents('Jos'))).toEqual({});
    expect(mentionedAgents('Next: José.', agents('José'))).toEqual({ José: 1 });
    expect(mentionedAgents('Пётр2 говорит', agents('Пётр'))).toEqual({});
    expect(mentionedAgents('(Пётр)', agents('Пётр'))).toEqual({ Пётр: 1 });
    expect(mentionedAgents('王小明说', agents('王小明'))).toEqual({});
    expect(mentionedAgents('下一位：王小明', agents('王小明'))).toEqual({ 王小明: 1 });
  });

  it('escapes regular-expression characters in names and reads message objects and parts', () => {
    expect(mentionedAgents('ask c++ now', agents('c++', 'c'))).toEqual({ 'c++': 1, c: 1 });
    expect(mentionedAgents('a.b', agents('a+b'))).toEqual({});
    expect(mentionedAgents({ content: 'bob' }, agents('bob'))).toEqual({ bob: 1 });
    expect(
      mentionedAgents(
        [
          { type: 'text', text: 'I pick ' },
          { type: 'text', text: 'bob' },
        ],
        agents('bob'),
      ),
    ).toEqual({ bob: 1 });
    const special = mentionedAgents('__proto__ speaks', agents('__proto__'));
    expect(Object.getOwnPropertyDescriptor(special, '__proto__')?.value).toBe(1);
  });
});

describe('Python formatting helpers', () => {
  it('renders lists like str(list)', () => {
    expect(pythonListRepr(['alice', 'bob'])).toBe("['alice', 'bob']");
    expect(pythonListRepr([])).toBe('[]');
    expect(pythonStringRepr("it's")).toBe('"it\'s"');
    expect(pythonStringRepr('a\'b"c')).toBe("'a\\'b\"c'");
    expect(pythonStringRepr('tab\there\\')).toBe("'tab\\there\\\\'");
    expect(pythonStringRepr('é\u0007')).toBe("'é\\x07'");
  });

  it('formats named fields like str.format and keeps unknown fields', () => {
    expect(formatTemplate('{a} and {{a}} and {b} and {"json": 1}', { a: 'X' })).toBe(
      'X and {a} and {b} and {"json": 1}',
    );
  });
});
