import { z } from 'zod';
import { InvalidSnapshotError } from './durable-errors.js';
import { runDefinitionSchema } from './run-definition.js';
import { storedPipelineSchema } from './run-header.js';
import type { JsonValue, RequestAnswer, RunEntry } from './run-store.js';

/** The snapshot schema version this code writes. Older versions keep loading (see the fixtures in the tests). */
export const RUN_SNAPSHOT_VERSION = 2;

const jsonObject = z.record(z.string(), z.unknown());

const entrySchema = z.object({
  sequence: z.number().int().positive(),
  key: z.string().min(1),
  type: z.string().min(1),
  time: z.number(),
  data: jsonObject,
});

const answerSchema = z.object({ requestId: z.string().min(1), answer: jsonObject, answeredAt: z.number() });

const snapshotV1 = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  createdAt: z.number(),
  status: z.enum(['running', 'waiting', 'finished']),
  definition: runDefinitionSchema,
  entries: z.array(entrySchema),
  answers: z.array(answerSchema),
  state: jsonObject.nullable(),
});

/** Version 2 adds the pipeline that built the run; a version 1 snapshot is a version 2 one without it. */
const snapshotV2 = snapshotV1.extend({
  schemaVersion: z.literal(2),
  pipeline: storedPipelineSchema.optional(),
});

/** A durable run as plain JSON: its definition, its whole log and the answers to its requests. */
export interface RunSnapshot {
  /** The schema version ({@link RUN_SNAPSHOT_VERSION} when written by this code). */
  schemaVersion: 2;
  /** The run's id. */
  runId: string;
  /** When the run was created, in milliseconds since the epoch. */
  createdAt: number;
  /** `finished` when the flow ended, `waiting` when a request is unanswered, else `running` (or interrupted). */
  status: 'running' | 'waiting' | 'finished';
  /** What the run was started with. */
  definition: z.infer<typeof runDefinitionSchema>;
  /** The pipeline that built the run and its JSON input, when `startPipeline` started it. */
  pipeline?: { name: string; input?: JsonValue };
  /** The log, in sequence order. */
  entries: RunEntry[];
  /** Answers to requests. */
  answers: RequestAnswer[];
  /** The root conversation's counters, endings, human input and group progress when the snapshot was taken, if it runs here. */
  state: { [key: string]: JsonValue } | null;
}

/** Checks a snapshot (parsed JSON or text) against its schema version and returns it. */
export function parseRunSnapshot(input: unknown): RunSnapshot {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new InvalidSnapshotError('The snapshot is not valid JSON. Pass what run.snapshot() returned.', {
        cause: error,
      });
    }
  }
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== 1 && version !== 2) {
    throw new InvalidSnapshotError(
      `Unknown snapshot schemaVersion ${JSON.stringify(version)}; this version of @hopgen/agents reads 1 and 2. Upgrade @hopgen/agents to load newer snapshots.`,
    );
  }
  const parsed = (version === 1 ? snapshotV1 : snapshotV2).safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new InvalidSnapshotError(`The snapshot does not match schema version ${version}: ${problems}.`);
  }
  return { ...parsed.data, schemaVersion: RUN_SNAPSHOT_VERSION } as RunSnapshot;
}

/** The status a log shows: finished, waiting for an answer, or running. */
export function statusOf(
  entries: readonly RunEntry[],
  answers: readonly RequestAnswer[],
): RunSnapshot['status'] {
  if (entries.some((entry) => entry.type === 'run-finished')) return 'finished';
  return pendingRequestIds(entries, answers).length > 0 ? 'waiting' : 'running';
}

/** Ids of requests written but neither decided in the log nor answered. */
export function pendingRequestIds(entries: readonly RunEntry[], answers: readonly RequestAnswer[]): string[] {
  const decided = new Set(
    entries.filter((entry) => entry.key.endsWith('.end')).map((entry) => entry.key.slice(0, -4)),
  );
  for (const answer of answers) decided.add(answer.requestId);
  return entries
    .filter((entry) => entry.type.endsWith('-requested') && !decided.has(entry.key))
    .map((entry) => entry.key);
}
