import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import {
  emptyRequestSchema,
  pipelineListSchema,
  provideInputRequestSchema,
  rejectRequestSchema,
  runDetailSchema,
  runIdSchema,
  runListSchema,
  startRunRequestSchema,
} from './api-schemas.js';
import { RequestError } from './errors.js';
import type { RunRegistry } from './run-registry.js';

/** What a route's handler gets. */
export interface RouteContext {
  registry: RunRegistry;
  request: IncomingMessage;
  url: URL;
  /** Path parameters, checked. */
  parameters: Record<string, string>;
  /** The body, parsed with the route's schema. */
  body: any;
}

/** One JSON operation of the API: its schemas describe it in the OpenAPI document and check it at run time. */
export interface ApiRoute {
  method: 'GET' | 'POST';
  /** OpenAPI path template, e.g. `/api/runs/{runId}`. */
  path: string;
  operationId: string;
  summary: string;
  /** What the operation does in detail, when a one-line summary is not enough. @default none */
  description?: string;
  /** Schema of the JSON body, for POST. */
  body?: z.ZodType;
  /** Schema of the 2xx JSON answer. */
  response: z.ZodType;
  /** The 2xx status. @default 200 */
  status?: number;
  handle(context: RouteContext): Promise<unknown>;
}

/** The JSON routes. The event stream is separate: it is not a JSON answer. */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/pipelines',
    operationId: 'listPipelines',
    summary: 'The pipelines this server can start, with the JSON Schema of their input.',
    response: pipelineListSchema,
    handle: async ({ registry }) => ({
      pipelines: registry.pipelines.map((pipeline) => ({
        name: pipeline.name,
        input: pipeline.input ? inputSchemaOf(pipeline.input) : null,
      })),
    }),
  },
  {
    method: 'POST',
    path: '/api/runs',
    operationId: 'startRun',
    summary: 'Starts a durable run of a registered pipeline.',
    body: startRunRequestSchema,
    response: runDetailSchema,
    status: 201,
    handle: ({ registry, body }) => registry.start(body),
  },
  {
    method: 'GET',
    path: '/api/runs',
    operationId: 'listRuns',
    summary: 'Every run of the store, newest first.',
    response: runListSchema,
    handle: async ({ registry }) => ({ runs: await registry.list() }),
  },
  {
    method: 'GET',
    path: '/api/runs/{runId}',
    operationId: 'getRun',
    summary: 'One run: status, open requests, results.',
    response: runDetailSchema,
    handle: ({ registry, parameters }) => registry.describe(parameters['runId']!),
  },
  {
    method: 'POST',
    path: '/api/runs/{runId}/requests/{requestId}/input',
    operationId: 'provideInput',
    summary: 'Answers a human-input request.',
    body: provideInputRequestSchema,
    response: runDetailSchema,
    handle: ({ registry, parameters, body }) =>
      registry.provideInput(parameters['runId']!, parameters['requestId']!, body.text),
  },
  {
    method: 'POST',
    path: '/api/runs/{runId}/requests/{requestId}/approve',
    operationId: 'approve',
    summary: 'Lets a code block or tool call waiting for approval run.',
    body: emptyRequestSchema,
    response: runDetailSchema,
    handle: ({ registry, parameters }) => registry.approve(parameters['runId']!, parameters['requestId']!),
  },
  {
    method: 'POST',
    path: '/api/runs/{runId}/requests/{requestId}/reject',
    operationId: 'reject',
    summary: 'Skips a code block or tool call waiting for approval; the model receives the reason.',
    body: rejectRequestSchema,
    response: runDetailSchema,
    handle: ({ registry, parameters, body }) =>
      registry.reject(parameters['runId']!, parameters['requestId']!, body.reason),
  },
  {
    method: 'POST',
    path: '/api/runs/{runId}/cancel',
    operationId: 'cancelRun',
    summary: 'Cancels a run wherever it runs; it ends with run-stopped.',
    description:
      'A run this server runs is stopped when the answer comes. One another process runs (a worker, another server) answers at once with cancelRequested: true and stops within that process’s cancel poll (1 s by default); one nobody holds (stopped by a shutdown, or failed and waiting for a worker’s retry) stops when a process resumes it. Cancelling again is the same as once; a finished run answers 409 run-ended.',
    body: emptyRequestSchema,
    response: runDetailSchema,
    handle: ({ registry, parameters }) => registry.cancel(parameters['runId']!),
  },
];

/** Finds the route for a method and path, with its path parameters checked. */
export function matchRoute(
  method: string,
  pathname: string,
): { route: ApiRoute; parameters: Record<string, string> } | undefined {
  const segments = pathname.split('/');
  let pathMatched = false;
  for (const route of API_ROUTES) {
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const parameters: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index]!;
      if (part.startsWith('{')) {
        parameters[part.slice(1, -1)] = segment;
        return segment.length > 0;
      }
      return part === segment;
    });
    if (!matches) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    for (const [name, segment] of Object.entries(parameters)) parameters[name] = pathParameter(name, segment);
    return { route, parameters };
  }
  if (pathMatched) {
    throw new RequestError(
      405,
      'method-not-allowed',
      `${method} ${pathname} is not supported. See /openapi.json.`,
    );
  }
  return undefined;
}

/**
 * Decodes one path segment and, for `runId`, checks it: a malformed escape or a run id no store can
 * hold is the client's mistake (400), not the server's.
 */
export function pathParameter(name: string, segment: string): string {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    throw new RequestError(
      400,
      'path-invalid',
      `The ${name} ${JSON.stringify(segment)} in the path is not valid percent-encoding. Encode it with encodeURIComponent.`,
    );
  }
  if (name !== 'runId') return value;
  const parsed = runIdSchema.safeParse(value);
  if (!parsed.success) {
    throw new RequestError(
      400,
      'run-id-invalid',
      `The run id ${JSON.stringify(value)} is not valid: ${parsed.error.issues[0]?.message}.`,
    );
  }
  return value;
}

/** Parses a body with a route's schema; the error names the first problem. */
export function parseBody(route: ApiRoute, body: unknown): unknown {
  if (!route.body) return undefined;
  const parsed = route.body.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new RequestError(
    400,
    'body-invalid',
    `The body of ${route.method} ${route.path} is not valid: ${issue?.path.join('.') || '(body)'}: ${issue?.message}. See /openapi.json.`,
  );
}

function inputSchemaOf(schema: z.ZodType): unknown {
  // A schema with parts JSON Schema cannot express (a transform, a custom check) is shown as "any input".
  return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' });
}
