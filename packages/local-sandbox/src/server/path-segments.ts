import { HopxHttpError } from './http-utilities.js';

/** Decodes one percent-encoded path segment; malformed encoding is the client's error, a 400. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HopxHttpError(
      400,
      'INVALID_PATH',
      `Malformed percent-encoding in path segment ${JSON.stringify(segment)}.`,
    );
  }
}
