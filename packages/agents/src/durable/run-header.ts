import { z } from 'zod';
import { InvalidSnapshotError } from './durable-errors.js';
import type { JsonValue, RunHeader } from './run-store.js';

/**
 * The header schema version this code writes. Version 1 (no `schemaVersion` field) had no
 * `pipeline`; version 2 adds it. Older headers keep loading (see the fixtures in the tests).
 */
export const RUN_HEADER_VERSION = 2;

const json: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]),
);

/** The pipeline that built a run and the input it was given, as stored in the run's header. */
export const storedPipelineSchema = z.object({ name: z.string().min(1), input: json.optional() });

const headerV1 = z.object({
  schemaVersion: z.undefined().optional(),
  runId: z.string().min(1),
  createdAt: z.number(),
  definition: z.record(z.string(), json),
});

const headerV2 = headerV1.extend({
  schemaVersion: z.literal(2),
  pipeline: storedPipelineSchema.optional(),
});

/** Checks a stored header of any known version and returns it in the current form. */
export function parseRunHeader(value: unknown): RunHeader {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  const schema = version === undefined ? headerV1 : version === 2 ? headerV2 : undefined;
  if (schema === undefined) {
    throw new InvalidSnapshotError(
      `Unknown run header schemaVersion ${JSON.stringify(version)}; this version of @hopgen/agents reads 1 and ${RUN_HEADER_VERSION}. Upgrade @hopgen/agents to resume newer runs.`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidSnapshotError(
      `The stored run header is not valid: ${issue?.path.join('.') || '(root)'}: ${issue?.message}.`,
    );
  }
  return { ...parsed.data, schemaVersion: RUN_HEADER_VERSION } as RunHeader;
}
