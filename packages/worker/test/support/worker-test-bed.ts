import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { PostgresRunStore } from '@hopgen/postgres';
import { JobQueue } from '@hopgen/worker';
import { afterAll, beforeAll } from 'vitest';
import { type Script, startOpenAITestServer } from '../../../agents/test/support/openai-test-server.js';
import { createTestDatabase } from '../../../postgres/test/test-database.js';
import type { FleetEnvironment } from './worker-processes.js';

/** What a worker test file runs against: a fresh database, the scripted model and a local sandbox server. */
export interface WorkerTestBed {
  databaseUrl: string;
  sandboxes: Awaited<ReturnType<typeof startLocalSandboxServer>>;
  /** For worker processes; also set in this process's environment for in-process workers. */
  environment: FleetEnvironment;
  queue: JobQueue;
  store: PostgresRunStore;
}

/**
 * Starts the test bed before the file's tests and stops it after them; `beforeClose` runs first
 * (to stop the file's workers while the servers still answer).
 */
export function useWorkerTestBed(script: Script, beforeClose: () => Promise<void>): WorkerTestBed {
  const bed = {} as WorkerTestBed;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const database = await createTestDatabase();
    closers.unshift(() => database.drop());
    const model = await startOpenAITestServer(script);
    closers.unshift(() => model.close());
    bed.sandboxes = await startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize: 0 });
    closers.unshift(() => bed.sandboxes.close());
    bed.databaseUrl = database.url;
    bed.environment = {
      DATABASE_URL: database.url,
      HOPGEN_TEST_MODEL_URL: model.baseURL,
      HOPX_BASE_URL: bed.sandboxes.baseURL,
      HOPX_API_KEY: bed.sandboxes.apiKey,
    };
    Object.assign(process.env, bed.environment);
    bed.queue = new JobQueue({ connectionString: database.url });
    bed.store = new PostgresRunStore({ connectionString: database.url });
    closers.unshift(
      () => bed.queue.close(),
      () => bed.store.close(),
    );
  });
  afterAll(async () => {
    await beforeClose();
    for (const close of closers) await close();
  });
  return bed;
}
