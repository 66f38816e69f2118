import { PNG } from 'pngjs';

/** A PNG's size in pixels. */
export interface PngSize {
  width: number;
  height: number;
}

/** Width and height from a PNG's header, or `undefined` when the bytes are not a PNG. */
export function pngSize(bytes: Buffer): PngSize | undefined {
  const signature = '89504e470d0a1a0a';
  if (bytes.length < 24 || bytes.subarray(0, 8).toString('hex') !== signature) return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * Shrinks a PNG so its longer side is at most `maxDimension` pixels, averaging each source area into
 * its target pixel (a box filter, which keeps thin chart lines visible instead of skipping them).
 * A PNG already small enough is returned as it is.
 */
export function downscalePng(bytes: Buffer, maxDimension: number): Buffer {
  const size = pngSize(bytes);
  if (size === undefined || Math.max(size.width, size.height) <= maxDimension) return bytes;
  const source = PNG.sync.read(bytes);
  const scale = maxDimension / Math.max(source.width, source.height);
  const width = Math.max(1, Math.round(source.width * scale));
  const height = Math.max(1, Math.round(source.height * scale));
  const target = new PNG({ width, height });
  const xRatio = source.width / width;
  const yRatio = source.height / height;
  for (let y = 0; y < height; y += 1) {
    const top = Math.floor(y * yRatio);
    const bottom = Math.max(top + 1, Math.floor((y + 1) * yRatio));
    for (let x = 0; x < width; x += 1) {
      const left = Math.floor(x * xRatio);
      const right = Math.max(left + 1, Math.floor((x + 1) * xRatio));
      const sums = [0, 0, 0, 0];
      for (let sourceY = top; sourceY < bottom; sourceY += 1) {
        for (let sourceX = left; sourceX < right; sourceX += 1) {
          const offset = (sourceY * source.width + sourceX) * 4;
          for (let channel = 0; channel < 4; channel += 1) sums[channel]! += source.data[offset + channel]!;
        }
      }
      const count = (bottom - top) * (right - left);
      const offset = (y * width + x) * 4;
      for (let channel = 0; channel < 4; channel += 1)
        target.data[offset + channel] = Math.round(sums[channel]! / count);
    }
  }
  return PNG.sync.write(target);
}
