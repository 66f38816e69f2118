import { z } from 'zod';
import { InvalidOptionError, StructuredOutputError } from '../errors.js';
import type { Message } from '../message.js';
import type {
  JsonSchemaResponseFormat,
  ModelClient,
  ModelRequest,
  ModelResponse,
} from '../model-clients/model-client.js';
import { formatZodIssues } from '../zod-issues.js';

/** How a model must answer: JSON that matches a zod schema. */
export interface ResponseFormatOptions<TSchema extends z.ZodType = z.ZodType> {
  /** The schema the reply must match; the model is sent its JSON schema. */
  schema: TSchema;
  /** The schema's name, for the model (letters, digits, `_`, `-`). @default 'response' */
  name?: string;
  /** Times a reply that fails validation is sent back to the model with its issues before giving up. @default 1 */
  maxRetries?: number;
}

/** A zod schema, or {@link ResponseFormatOptions} for a name or more retries. */
export type ResponseFormat<TSchema extends z.ZodType = z.ZodType> = TSchema | ResponseFormatOptions<TSchema>;

/** A checked response format, ready for model requests. */
export interface StructuredOutput {
  schema: z.ZodType;
  maxRetries: number;
  responseFormat: JsonSchemaResponseFormat;
}

/** What a structured model call gave: a validated value, or tool calls the model made instead. */
export type StructuredAnswer =
  | { kind: 'value'; text: string; value: unknown; response: ModelResponse }
  | { kind: 'tool-calls'; response: ModelResponse };

/** Checks `format` (given as option `option`) and builds its JSON schema once. */
export function resolveResponseFormat(format: ResponseFormat, option: string): StructuredOutput {
  const options: ResponseFormatOptions =
    format instanceof z.ZodType ? { schema: format } : (format as ResponseFormatOptions);
  if (!(options?.schema instanceof z.ZodType)) {
    throw new InvalidOptionError(
      `${option} must be a zod schema or { schema: zodSchema, name?, maxRetries? }.`,
    );
  }
  const maxRetries = options.maxRetries ?? 1;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidOptionError(
      `${option}.maxRetries must be a whole number of retries (0 or more), got ${maxRetries}.`,
    );
  }
  const name = options.name ?? 'response';
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    throw new InvalidOptionError(
      `${option}.name ${JSON.stringify(name)} must be letters, digits, _ and - (at most 64).`,
    );
  }
  let schema: Record<string, unknown>;
  try {
    schema = z.toJSONSchema(options.schema) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidOptionError(
      `${option} cannot be turned into JSON schema (${(error as Error).message}). Use JSON-compatible zod types.`,
      { cause: error },
    );
  }
  delete schema['$schema'];
  return {
    schema: options.schema,
    maxRetries,
    responseFormat: { type: 'json_schema', json_schema: { name, schema } },
  };
}

/**
 * Asks `client` for JSON that matches `format`. A reply that is not JSON or fails the schema is sent back
 * (for this call only, not into any history) with its issues, up to `maxRetries` times; then
 * {@link StructuredOutputError}. Tool calls are returned as they are: the format applies to the final answer.
 */
export async function createStructured(
  client: ModelClient,
  request: ModelRequest,
  format: StructuredOutput,
  who: string,
): Promise<StructuredAnswer> {
  let messages: readonly Message[] = request.messages;
  let problems = '';
  for (let attempt = 0; attempt <= format.maxRetries; attempt += 1) {
    const response = await client.create({ ...request, messages, responseFormat: format.responseFormat });
    if (response.message.tool_calls && response.message.tool_calls.length > 0)
      return { kind: 'tool-calls', response };
    const text = response.message.content ?? '';
    const checked = validate(text, format.schema);
    if ('value' in checked) return { kind: 'value', text, value: checked.value, response };
    problems = checked.problems;
    messages = [
      ...messages,
      { role: 'assistant', content: text },
      {
        role: 'user',
        content: `Your reply does not match the required JSON schema:\n${problems}\nReply again with only the corrected JSON.`,
      },
    ];
  }
  throw new StructuredOutputError(
    `${who}: the model's reply did not match the JSON schema after ${format.maxRetries + 1} attempt${format.maxRetries === 0 ? '' : 's'}:\n${problems}\nRaise maxRetries of the response format, or loosen the schema.`,
  );
}

function validate(text: string, schema: z.ZodType): { value: unknown } | { problems: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: `- (root): the reply is not JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { value: parsed.data } : { problems: formatZodIssues(parsed.error.issues) };
}
