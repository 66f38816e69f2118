/** A tool as the model sees it: OpenAI's function-tool definition with a JSON schema. */
export interface ToolDefinition {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters: Record<string, unknown>;
  };
}
