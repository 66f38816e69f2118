import { describe, expect, it } from 'vitest';
import { renderMessage } from '../page/run-view.js';

/** What a model (or a sandboxed program's output) could write to break out of the text. */
const ATTACKS = [
  '<img src=x onerror=alert(1)>',
  '</script><script>alert(2)</script>',
  '"><svg onload=alert(3)>',
  "' onmouseover='alert(4)",
];
const ATTACK = ATTACKS.join(' ');

/** Tags the renderer itself writes; anything else came from the text. */
const RENDERER_TAGS = new Set([
  'li',
  'div',
  'strong',
  'span',
  'p',
  'pre',
  'code',
  'br',
  'ol',
  'ul',
  'figure',
  'img',
  'figcaption',
]);

function tagsOf(html: string): Array<{ name: string; attributes: string }> {
  return [...html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)].map((match) => ({
    name: match[1]!.toLowerCase(),
    attributes: match[2]!,
  }));
}

describe('the run view renderer', () => {
  it('shows model text as text wherever it appears, never as markup', () => {
    const html = renderMessage(
      {
        index: 0,
        atMs: 1200,
        sender: `analyst${ATTACK}`,
        recipient: `user${ATTACK}`,
        message: {
          role: 'assistant',
          content: `# ${ATTACK}\n\n**${ATTACK}** and \`${ATTACK}\`\n\n- ${ATTACK}\n\n\`\`\`python${ATTACK}\nprint("${ATTACK}")\n\`\`\``,
          tool_calls: [
            { function: { name: `add${ATTACK}`, arguments: JSON.stringify({ a: ATTACK }) } },
            { function: { name: 'run', arguments: JSON.stringify({ code: ATTACK, note: ATTACK }) } },
            { function: { name: 'broken', arguments: ATTACK } },
          ],
        },
        images: [`chart${ATTACK}.png`],
      },
      new Map(),
      (name) => `blob:http://127.0.0.1/${encodeURIComponent(name)}`,
    );
    const tool = renderMessage(
      {
        index: 1,
        atMs: 1300,
        sender: 'user',
        recipient: 'analyst',
        message: { role: 'tool', tool_call_id: ATTACK, content: ATTACK },
      },
      new Map(),
      () => undefined,
    );
    const execution = renderMessage(
      {
        index: 2,
        atMs: 1400,
        sender: 'user',
        recipient: 'analyst',
        message: { role: 'user', content: `exitcode: 1 (execution failed)\nCode output: ${ATTACK}` },
        execution: { exitCode: 1, durationMs: 20, languages: [`python${ATTACK}`] },
        images: [`missing${ATTACK}.png`],
      },
      new Map(),
      () => undefined,
    );
    for (const rendered of [html, tool, execution]) {
      for (const tag of tagsOf(rendered)) {
        expect(RENDERER_TAGS.has(tag.name), `<${tag.name}${tag.attributes}>`).toBe(true);
        // Every attribute is name="value" with nothing unescaped inside, and none is an event handler.
        expect(tag.attributes, `<${tag.name}${tag.attributes}>`).toMatch(/^(\s+[\w-]+="[^"<>]*")*\s*$/);
        const names = [...tag.attributes.matchAll(/\s([\w-]+)="/g)].map((match) => match[1]!.toLowerCase());
        expect(names.filter((name) => name.startsWith('on'))).toEqual([]);
      }
      expect(rendered).not.toContain('</script>');
      expect(rendered).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    // The one <img> is the chart the renderer was asked to show, its name escaped in the attributes.
    const images = tagsOf(html).filter((tag) => tag.name === 'img');
    expect(images).toHaveLength(1);
    expect(images[0]!.attributes).toContain('src="blob:http://127.0.0.1/chart');
    expect(images[0]!.attributes).not.toContain('"><svg');
  });
});
