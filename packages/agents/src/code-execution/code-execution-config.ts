import { InvalidOptionError } from '../errors.js';
import type { CodeExecutor } from './types.js';

/** Code execution settings of an agent. */
export interface CodeExecutionConfig {
  /** Runs the code blocks found in received messages. */
  executor: CodeExecutor;
  /**
   * How many recent messages to scan for code, newest first; `'auto'` scans the messages received
   * since this agent last spoke. @default 'auto'
   */
  lastNMessages?: number | 'auto';
  /**
   * Send the PNG images the code produced (figures it showed, files it saved) back with the reply, as
   * image parts after AutoGen's text, so a vision model can see the chart it asked for. The recipient's
   * model must accept images. @default false
   */
  imagesToModel?: boolean;
  /** Most images attached to one code-execution reply; the text says how many more were left out. @default 4 */
  maxImagesPerMessage?: number;
  /** Longest side of an attached image, in pixels; larger images are downscaled. @default 1568 */
  maxImageDimension?: number;
  /** Most bytes of (downscaled) PNG attached to one reply, all images together. @default 5_242_880 (5 MiB) */
  maxImageBytesPerMessage?: number;
}

/** The image settings of a code-execution config, defaults applied. */
export interface ResolvedImageSettings {
  maxImages: number;
  maxDimension: number;
  maxBytes: number;
}

/** Applies the image defaults and rejects values that cannot work, naming the option. */
export function resolveImageSettings(config: CodeExecutionConfig): ResolvedImageSettings {
  const settings = {
    maxImages: config.maxImagesPerMessage ?? 4,
    maxDimension: config.maxImageDimension ?? 1568,
    maxBytes: config.maxImageBytesPerMessage ?? 5 * 1024 * 1024,
  };
  const names = {
    maxImages: 'maxImagesPerMessage',
    maxDimension: 'maxImageDimension',
    maxBytes: 'maxImageBytesPerMessage',
  } as const;
  for (const key of Object.keys(names) as (keyof typeof names)[]) {
    const value = settings[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidOptionError(
        `codeExecutionConfig.${names[key]} must be a whole number >= 1, got ${value}.`,
      );
    }
  }
  return settings;
}
