import type { z } from 'zod';
import type { Tool } from './tool-types.js';

/**
 * Returns `tool` unchanged; it exists so TypeScript infers the type of `execute`'s arguments from the
 * zod schema: `defineTool({ name, description, parameters: z.object({ city: z.string() }), execute: ({ city }) => ... })`.
 */
export function defineTool<TParameters extends z.ZodType, TResult>(
  tool: Tool<TParameters, TResult>,
): Tool<TParameters, TResult> {
  return tool;
}
