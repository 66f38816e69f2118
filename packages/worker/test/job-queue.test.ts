import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import { JobQueue, type PipelineWorker, startWorker } from '@hopgen/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../../agents/test/support/openai-test-server.js';
import { createTestDatabase, type TestDatabase } from '../../postgres/test/test-database.js';
import { scriptedCoder } from './support/scripted-coder.js';
import { pipelines } from './support/test-pipelines.js';

let database: TestDatabase;
let model: OpenAITestServer;
let sandboxes: Awaited<ReturnType<typeof startLocalSandboxServer>>;
let queue: JobQueue;
const workers: PipelineWorker[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  model = await startOpenAITestServer(scriptedCoder(0));
  sandboxes = await startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize: 1 });
  process.env.HOPGEN_TEST_MODEL_URL = model.baseURL;
  process.env.HOPX_BASE_URL = sandboxes.baseURL;
  process.env.HOPX_API_KEY = sandboxes.apiKey;
  queue = new JobQueue({ connectionString: database.url });
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await queue?.close();
  await sandboxes?.close();
  await model?.close();
  await database?.drop();
});

describe('a worker in this process', () => {
  it('runs a submitted pipeline job to completion and stores each chat result with the job', async () => {
    workers.push(await startWorker({ connectionString: database.url, pipelines, takeoverMs: 3_000 }));
    const job = await queue.submit('three-chats', { job: 1 });
    expect(job.state).toBe('queued');
    const done = await queue.wait(job.id);
    expect(done.error).toBeNull();
    expect(done.state).toBe('completed');
    expect(done.result?.chats.map((chat) => chat.summary)).toEqual([
      'Chat 1 of job 1 done. ',
      'Chat 2 of job 1 done. ',
      'Chat 3 of job 1 done. ',
    ]);
  });
});
