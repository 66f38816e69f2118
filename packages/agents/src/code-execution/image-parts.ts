import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ContentPart } from '../message.js';
import { downscalePng, pngSize } from './png-downscale.js';

/** Limits on the images one code-execution reply sends to the model. */
export interface ImagePartLimits {
  maxImages: number;
  maxDimension: number;
  maxBytes: number;
}

/** The image parts of one reply and what was left out. */
export interface ImageParts {
  parts: ContentPart[];
  /** Why images were left out, for the text the model reads (empty when none were). */
  notes: string[];
}

/**
 * Image parts (`data:image/png;base64,...`) for the PNG files a code block produced, in order: each
 * downscaled to `maxDimension` pixels on its longer side, at most `maxImages` of them and `maxBytes`
 * in all. Files that are not PNGs are skipped; the notes say how many images were left out and why.
 */
export async function imagePartsFor(paths: readonly string[], limits: ImagePartLimits): Promise<ImageParts> {
  const parts: ContentPart[] = [];
  let overCount = 0;
  let overBytes = 0;
  let bytes = 0;
  for (const path of paths) {
    if (extname(path).toLowerCase() !== '.png') continue;
    if (parts.length >= limits.maxImages) {
      overCount += 1;
      continue;
    }
    const original = await readFile(path);
    if (pngSize(original) === undefined) continue;
    const image = downscalePng(original, limits.maxDimension);
    if (bytes + image.length > limits.maxBytes) {
      overBytes += 1;
      continue;
    }
    bytes += image.length;
    parts.push({
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${image.toString('base64')}` },
    });
  }
  const notes: string[] = [];
  if (overCount > 0)
    notes.push(`${plural(overCount)} not shown to the model: over maxImagesPerMessage (${limits.maxImages})`);
  if (overBytes > 0)
    notes.push(
      `${plural(overBytes)} not shown to the model: over maxImageBytesPerMessage (${limits.maxBytes} bytes)`,
    );
  return { parts, notes };
}

function plural(count: number): string {
  return count === 1 ? '1 image' : `${count} images`;
}
