import { z } from 'zod';
import { InvalidOptionError } from '../errors.js';
import { isToolDefinition, toolDefinition } from './tool-definition.js';
import type { Tool, ToolDefinition } from './tool-types.js';

/** An agent that can offer tools to its model (AutoGen's `register_for_llm`). */
export interface ToolCaller {
  registerForLlm(tool: Tool | ToolDefinition): void;
}

/** An agent that can run tools (AutoGen's `register_for_execution`). */
export interface ToolExecutor {
  registerForExecution(tool: Tool): void;
}

/** Options of {@link registerFunction}. */
export interface RegisterFunctionOptions<TParameters extends z.ZodType = z.ZodType> {
  /** The agent whose model may call the function (it needs an `llmConfig`). */
  caller: ToolCaller;
  /** The agent that runs the function when the model calls it. */
  executor: ToolExecutor;
  /** Registers the function under this name. @default tool.name, or the plain function's own name */
  name?: string;
  /**
   * What the function does, for the model. Required for a plain function (AutoGen: "Function
   * description is required"). @default tool.description
   */
  description?: string;
  /**
   * zod object schema of the arguments; the model sees its JSON schema and the arguments are
   * validated before the function runs. Required for a plain function that takes arguments.
   * @default tool.parameters, or z.object({}) for a plain function that takes none
   */
  parameters?: TParameters;
}

/** The two shapes registerFunction takes, quoted by every error about a wrong one. */
const RIGHT_SHAPES =
  'Call registerFunction(tool, { caller, executor }) with tool = defineTool({ name, description, parameters: z.object({...}), execute }), ' +
  'or registerFunction(fn, { caller, executor, name, description, parameters: z.object({...}) }) with a plain function.';

/**
 * Registers a function with both agents at once (AutoGen's `autogen.register_function`): the
 * caller's model is offered it and the executor runs it. Takes a typed tool (`defineTool`) or a plain
 * function with `name`, `description` and a zod `parameters` schema in the options.
 */
export function registerFunction<T extends Tool<any, any>>(tool: T, options: RegisterFunctionOptions): void;
export function registerFunction<TParameters extends z.ZodType>(
  fn: (args: z.infer<TParameters>) => unknown,
  options: RegisterFunctionOptions<TParameters> & { description: string },
): void;
export function registerFunction(
  toolOrFunction: Tool | ((args: any) => unknown),
  options: RegisterFunctionOptions,
): void {
  assertAgents(options);
  const registered = toRegisteredTool(toolOrFunction, options);
  // Validate first, so a bad name or schema leaves neither agent half-registered.
  toolDefinition(registered);
  options.caller.registerForLlm(registered);
  options.executor.registerForExecution(registered);
}

function assertAgents(options: unknown): asserts options is RegisterFunctionOptions {
  const { caller, executor } = (options ?? {}) as Partial<Record<'caller' | 'executor', unknown>>;
  const problems: string[] = [];
  if (typeof (caller as ToolCaller | undefined)?.registerForLlm !== 'function')
    problems.push('`caller` must be the agent whose model may call the function');
  if (typeof (executor as ToolExecutor | undefined)?.registerForExecution !== 'function')
    problems.push('`executor` must be the agent that runs it');
  if (problems.length > 0)
    throw new InvalidOptionError(`registerFunction: ${problems.join(', and ')}. ${RIGHT_SHAPES}`);
}

function toRegisteredTool(toolOrFunction: unknown, options: RegisterFunctionOptions): Tool {
  if (options.parameters !== undefined && !isZodSchema(options.parameters)) {
    throw new InvalidOptionError(
      `registerFunction: \`parameters\` must be a zod object schema (z.object({...})), not a JSON schema or a plain object. ${RIGHT_SHAPES}`,
    );
  }
  if (typeof toolOrFunction === 'function')
    return fromPlainFunction(toolOrFunction as (args: any) => unknown, options);
  if (isToolObject(toolOrFunction)) {
    const { name, description, parameters } = options;
    if (name === undefined && description === undefined && parameters === undefined) return toolOrFunction;
    return {
      name: name ?? toolOrFunction.name,
      description: description ?? toolOrFunction.description,
      parameters: parameters ?? toolOrFunction.parameters,
      execute: (args) => toolOrFunction.execute(args),
    };
  }
  if (hasExecute(toolOrFunction)) {
    throw new InvalidOptionError(
      `registerFunction: the tool's \`parameters\` must be a zod object schema (z.object({...})). ${RIGHT_SHAPES}`,
    );
  }
  if (isToolDefinitionLike(toolOrFunction)) {
    throw new InvalidOptionError(
      `registerFunction: an OpenAI tool definition ({ type: 'function', function: {...} }) only describes a function and cannot run it; pass it to caller.registerForLlm(), or pass something to run. ${RIGHT_SHAPES}`,
    );
  }
  throw new InvalidOptionError(
    `registerFunction: the first argument must be a tool with \`execute\` or a function, got ${describeValue(toolOrFunction)}. ${RIGHT_SHAPES}`,
  );
}

function fromPlainFunction(fn: (args: any) => unknown, options: RegisterFunctionOptions): Tool {
  const name = options.name ?? fn.name;
  if (!name) {
    throw new InvalidOptionError(
      `registerFunction: this function has no name; pass \`name\` in the options. ${RIGHT_SHAPES}`,
    );
  }
  if (typeof options.description !== 'string' || options.description.trim() === '') {
    throw new InvalidOptionError(
      `Function description is required, none found. Pass \`description\` (what ${JSON.stringify(name)} does, for the model) in the options of registerFunction. ${RIGHT_SHAPES}`,
    );
  }
  let parameters = options.parameters;
  if (parameters === undefined) {
    if (fn.length > 0) {
      throw new InvalidOptionError(
        `registerFunction: ${JSON.stringify(name)} takes arguments, so pass \`parameters\`, a zod object schema of them. ${RIGHT_SHAPES}`,
      );
    }
    parameters = z.object({});
  }
  return { name, description: options.description, parameters, execute: (args) => fn(args) };
}

function isZodSchema(value: unknown): value is z.ZodType {
  return (
    typeof value === 'object' && value !== null && typeof (value as { _zod?: unknown })._zod === 'object'
  );
}

function hasExecute(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Tool).execute === 'function';
}

function isToolObject(value: unknown): value is Tool {
  return hasExecute(value) && isZodSchema((value as Tool).parameters);
}

function isToolDefinitionLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && isToolDefinition(value as ToolDefinition);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object with keys ${JSON.stringify(Object.keys(value))}`;
  return typeof value;
}
