import type { Message } from '@hopgen/agents';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { downscalePng, pngSize } from '../src/code-execution/png-downscale.js';
import { limitPromptImages } from '../src/model-clients/prompt-images.js';

const image = (id: string) => ({
  type: 'image_url' as const,
  image_url: { url: `data:image/png;base64,${id}` },
});

describe('limitPromptImages', () => {
  it('keeps the newest images and turns older ones into <image>, without touching the given messages', () => {
    const messages: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'first' }, image('A'), image('B')] },
      { role: 'assistant', content: 'looks fine' },
      { role: 'user', content: [{ type: 'text', text: 'second' }, image('C')] },
    ];
    const before = structuredClone(messages);

    const limited = limitPromptImages(messages, 2);

    expect(limited[0]!.content).toEqual([
      { type: 'text', text: 'first' },
      { type: 'text', text: '<image>' },
      image('B'),
    ]);
    expect(limited[1]).toBe(messages[1]);
    expect(limited[2]!.content).toEqual([{ type: 'text', text: 'second' }, image('C')]);
    expect(messages).toEqual(before);
    expect(
      limitPromptImages(messages, 0).flatMap((message) => message.content as unknown[]),
    ).not.toContainEqual(expect.objectContaining({ type: 'image_url' }));
  });
});

describe('downscalePng', () => {
  it('averages each area into its pixel, so the longer side fits', () => {
    // 4 x 2: the left half black, the right half white.
    const source = new PNG({ width: 4, height: 2 });
    for (let index = 0; index < 8; index += 1) {
      const value = index % 4 < 2 ? 0 : 255;
      source.data.set([value, value, value, 255], index * 4);
    }
    const bytes = PNG.sync.write(source);

    const scaled = PNG.sync.read(downscalePng(bytes, 2));

    expect([scaled.width, scaled.height]).toEqual([2, 1]);
    expect([...scaled.data]).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    expect(downscalePng(bytes, 4)).toBe(bytes);
    expect(pngSize(bytes)).toEqual({ width: 4, height: 2 });
    expect(pngSize(Buffer.from('not a png at all, not at all'))).toBeUndefined();
  });
});
