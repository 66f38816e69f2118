import { contentToString, type Message } from '../message.js';

// Python's `\w` on str: letters, numbers and the underscore, in every script.
const WORD_CHARACTER = String.raw`[\p{L}\p{N}_]`;

const patternCache = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  // With the `u` flag only syntax characters may be escaped.
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * The pattern AutoGen builds in `_mentioned_agents`: the name, the name with `_` written as a space,
 * or with `_` written as `\_`, as a whole word (no letter, number or `_` on either side).
 */
function mentionPattern(name: string): RegExp {
  let pattern = patternCache.get(name);
  if (pattern === undefined) {
    const variants = [name, name.replaceAll('_', ' '), name.replaceAll('_', '\\_')].map(escapeRegExp);
    pattern = new RegExp(`(?<!${WORD_CHARACTER})(?:${variants.join('|')})(?!${WORD_CHARACTER})`, 'gu');
    if (patternCache.size > 1024) patternCache.clear();
    patternCache.set(name, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/**
 * Counts how often each agent is named in `content`, following AutoGen's rules: case-sensitive,
 * whole words only (`samantha` does not name `sam`), and a name with `_` also matches when written
 * with a space or with `\_` (`Story_writer`, `Story writer`, `Story\_writer`). Word characters are
 * Unicode letters, numbers and `_`, as in Python. Only agents named at least once appear in the result.
 */
export function mentionedAgents(
  content: string | Message['content'] | Pick<Message, 'content'> | undefined,
  agents: readonly { readonly name: string }[],
): Record<string, number> {
  const text =
    content !== null && typeof content === 'object' && !Array.isArray(content)
      ? contentToString(content.content)
      : contentToString(content);
  const padded = ` ${text} `;
  const mentions: [string, number][] = [];
  for (const agent of agents) {
    if (agent.name === '') continue;
    let count = 0;
    for (const _match of padded.matchAll(mentionPattern(agent.name))) count += 1;
    if (count > 0) mentions.push([agent.name, count]);
  }
  // fromEntries defines own properties, so a name such as `__proto__` is counted like any other.
  return Object.fromEntries(mentions);
}
