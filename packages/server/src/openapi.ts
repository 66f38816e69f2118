import { z } from 'zod';
import { API_ROUTES } from './api-routes.js';
import { errorBodySchema, runEventSchema } from './api-schemas.js';

const json = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' });

/** The API described as OpenAPI 3.1, generated from the zod schemas that check its requests and answers. */
export function openApiDocument(version: string): Record<string, unknown> {
  const errorResponse = {
    description: 'The problem, named, and what to send instead.',
    content: { 'application/json': { schema: json(errorBodySchema, 'output') } },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: json(route.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [String(route.status ?? 200)]: {
          description: 'OK',
          content: { 'application/json': { schema: json(route.response, 'output') } },
        },
        '4XX': errorResponse,
      },
    };
  }
  paths['/api/runs/{runId}/events'] = {
    get: {
      operationId: 'streamRunEvents',
      summary:
        'The run’s events as Server-Sent Events (id = sequence number), replayed from Last-Event-ID (or ?after=) then live; ends with an `end` event when the run ends.',
      parameters: [
        { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'integer', minimum: 0 } },
        { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
      ],
      responses: {
        '200': {
          description: 'Each `data:` line holds one event.',
          content: { 'text/event-stream': { schema: json(runEventSchema, 'output') } },
        },
        '4XX': errorResponse,
      },
    },
  };
  paths['/api/runs/{runId}/ui-message-stream'] = {
    get: {
      operationId: 'streamRunUiMessages',
      summary:
        'The run as the Vercel AI SDK UI message stream (v1): one assistant message with a text part per agent message and data-speaker, data-code, data-request and data-termination parts; for useChat.',
      parameters: [
        { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
      ],
      responses: {
        '200': {
          description: 'SSE of UI message chunks, ending with [DONE].',
          content: { 'text/event-stream': {} },
        },
        '4XX': errorResponse,
      },
    },
  };
  paths['/api/runs/{runId}/files/{name}'] = {
    get: {
      operationId: 'getRunImage',
      summary:
        'An image (PNG) a code run of the run saved, by file name, as listed in its code-execution-end events.',
      parameters: [
        { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'The image.',
          content: { 'image/png': { schema: { type: 'string', format: 'binary' } } },
        },
        '4XX': errorResponse,
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'hopgen serve',
      version,
      description: 'Start, watch, answer, approve and cancel durable hopgen runs.',
    },
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer', description: 'The token hopgen serve printed.' },
      },
    },
    security: [{ token: [] }],
    paths,
  };
}
