import { z } from 'zod';

/** A run id in a path or a body: letters, digits, `.`, `_` and `-`, so it is safe as a folder name. */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'use 1-128 letters, digits, ".", "_" or "-"');

/** Body of `POST /api/runs`. */
export const startRunRequestSchema = z
  .object({
    pipeline: z.string().min(1).describe('The name of a registered pipeline.'),
    input: z.unknown().optional().describe("The pipeline's input, checked by its schema."),
    runId: runIdSchema.optional().describe('The new run id. Default: a random UUID.'),
    approval: z
      .object({
        codeExecution: z.boolean().optional().describe('Ask before each batch of code blocks runs.'),
        toolCalls: z.boolean().optional().describe('Ask before each tool call runs.'),
      })
      .strict()
      .optional()
      .describe('Side effects that wait for a person.'),
  })
  .strict();

/** Body of `POST /api/runs/{runId}/requests/{requestId}/input`. */
export const provideInputRequestSchema = z.object({ text: z.string() }).strict();

/** Body of `POST /api/runs/{runId}/requests/{requestId}/reject`. */
export const rejectRequestSchema = z
  .object({ reason: z.string().min(1).describe('Given to the model as the result.') })
  .strict();

/** Body of `POST /api/runs/{runId}/requests/{requestId}/approve` and `/cancel`: nothing, or `{}`. */
export const emptyRequestSchema = z.object({}).strict();

/** Where a run is: running, waiting for a person, finished, failed or stopped (cancelled, or shut down). */
export const runStatusSchema = z.enum(['running', 'waiting', 'finished', 'failed', 'stopped']);

/** A request that waits for a person. */
export const pendingRequestSchema = z.object({
  requestId: z.string(),
  kind: z.enum(['human-input', 'approval']),
  data: z.record(z.string(), z.unknown()),
});

/** One run in a list. */
export const runSummarySchema = z.object({
  runId: z.string(),
  pipeline: z.string().nullable().describe('The pipeline that started it; null for startChat runs.'),
  createdAt: z.number().describe('Milliseconds since the epoch.'),
  updatedAt: z.number().describe('Time of the last event, milliseconds since the epoch.'),
  status: runStatusSchema,
  lastSequence: z.number().int().describe('Sequence number of the last event; 0 for none.'),
  pendingRequests: z.number().int(),
  cancelRequested: z
    .boolean()
    .describe(
      'A cancel was asked and the run has not honoured it yet: the process running it stops it within its cancel poll (1 s by default); a run no process holds (stopped by a shutdown, or failed and waiting for a retry) stops again as soon as it is resumed.',
    ),
});

/** `GET /api/runs`. */
export const runListSchema = z.object({ runs: z.array(runSummarySchema) });

/** `GET /api/runs/{runId}` and the answer to the commands on a run. */
export const runDetailSchema = runSummarySchema.extend({
  input: z.unknown().describe('The input its pipeline was started with.'),
  requests: z.array(pendingRequestSchema),
  results: z
    .array(z.object({ summary: z.unknown(), terminationReason: z.unknown(), chatId: z.unknown().optional() }))
    .nullable()
    .describe('One per chat when the run finished.'),
  error: z.string().nullable().describe('Why it failed.'),
});

/** `GET /api/pipelines`. */
export const pipelineListSchema = z.object({
  pipelines: z.array(
    z.object({
      name: z.string(),
      input: z.unknown().describe('JSON Schema of the input, or null when any input is accepted.'),
    }),
  ),
});

/** One event as the SSE stream and the JSON answers carry it. */
export const runEventSchema = z.object({
  runId: z.string(),
  sequence: z.number().int(),
  key: z.string(),
  type: z.string(),
  time: z.number(),
  data: z.record(z.string(), z.unknown()),
});

/** Every 4xx and 5xx answer. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('Stable name of the problem, e.g. token-missing or body-too-large.'),
    message: z.string().describe('What was wrong and what to send instead.'),
  }),
});

/** Types of the bodies. */
export type StartRunRequest = z.infer<typeof startRunRequestSchema>;
/** A run in a list. */
export type RunSummary = z.infer<typeof runSummarySchema>;
/** A run with its requests and results. */
export type RunDetail = z.infer<typeof runDetailSchema>;
/** Where a run is. */
export type RunStatus = z.infer<typeof runStatusSchema>;
