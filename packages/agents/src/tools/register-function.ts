import { toolDefinition } from './tool-definition.js';
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
export interface RegisterFunctionOptions {
  /** The agent whose model may call the tool. */
  caller: ToolCaller;
  /** The agent that runs the tool when it is called. */
  executor: ToolExecutor;
  /** Registers the tool under this name instead of `tool.name`. @default tool.name */
  name?: string;
  /** Describes the tool to the model with this text instead of `tool.description`. @default tool.description */
  description?: string;
}

/**
 * Registers a tool with both agents at once (AutoGen's `autogen.register_function`): the caller's model
 * is offered the tool and the executor runs it.
 */
export function registerFunction<T extends Tool<any, any>>(tool: T, options: RegisterFunctionOptions): void {
  const registered: Tool =
    options.name === undefined && options.description === undefined
      ? tool
      : { ...tool, name: options.name ?? tool.name, description: options.description ?? tool.description };
  // Validate first, so a bad name or schema leaves neither agent half-registered.
  toolDefinition(registered);
  options.caller.registerForLlm(registered);
  options.executor.registerForExecution(registered);
}
