import type { z } from 'zod';

/** A tool as the model sees it: OpenAI's function-tool definition with a JSON schema. */
export interface ToolDefinition {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters: Record<string, unknown>;
  };
}

/**
 * A typed tool: its name, what it does, a zod object schema for its arguments and the
 * function that runs it. `registerFunction` registers it with a caller and an executor.
 */
export interface Tool<TParameters extends z.ZodType = z.ZodType, TResult = unknown> {
  /** Letters, digits, `_` and `-`, at most 64 characters (OpenAI's rule). */
  name: string;
  /** What the tool does, for the model. */
  description: string;
  /** Schema of the arguments object; the model sees its JSON schema (`z.toJSONSchema`). */
  parameters: TParameters;
  /**
   * The JSON schema the model sees, for a tool that comes with one (an MCP server's tool); `parameters`
   * still validates the arguments. @default the JSON schema of `parameters`
   */
  inputJsonSchema?: Record<string, unknown>;
  /**
   * Runs the tool with validated arguments. Strings are answered as they are, anything else as JSON.
   * Declared as a method so a tool with a precise schema is still a `Tool` (method parameters are bivariant).
   */
  execute(args: z.infer<TParameters>): TResult | Promise<TResult>;
}

/**
 * What an executing agent keeps per function name: a typed {@link Tool}, or a plain function
 * that receives the parsed arguments object unvalidated (AutoGen's `function_map`).
 */
export type FunctionMapEntry = Tool | ((args: any) => unknown);
