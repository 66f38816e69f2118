import { InvalidPostgresOptionError, PostgresRunStore, SCHEMA_VERSION } from '@hopgen/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRunStoreContract } from '../../agents/test/support/run-store-contract.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

let database: TestDatabase;
const stores: PostgresRunStore[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await database.drop();
});

function open(options: { schema?: string; leaseMs?: number } = {}): PostgresRunStore {
  const store = new PostgresRunStore({ connectionString: database.url, leaseMs: 600, ...options });
  stores.push(store);
  return store;
}

describeRunStoreContract('PostgresRunStore', () => ({
  open: async () => open(),
  // close() stops renewing without releasing, as a killed process does; the lease then runs out.
  killHolder: async (store) => {
    await (store as PostgresRunStore).close();
    await new Promise((resolve) => setTimeout(resolve, (store as PostgresRunStore).leaseMs + 100));
  },
}));

describe('PostgresRunStore', () => {
  it('migrates once when many stores start at the same time, and records the version', async () => {
    const starting = Array.from({ length: 5 }, () => open({ schema: 'concurrent' }));
    await Promise.all(starting.map((store) => store.ready()));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const versions = await client.query('SELECT version FROM concurrent.migrations ORDER BY version');
    await client.end();
    expect(versions.rows.map((row) => row.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, index) => index + 1),
    );
  });

  it("keeps a live holder's lease past its length by renewing it", async () => {
    const holder = open();
    await holder.createRun({ runId: 'renewed', createdAt: 1, definition: {} });
    await holder.acquire('renewed', 'alive');
    await new Promise((resolve) => setTimeout(resolve, holder.leaseMs * 3));
    await expect(open().acquire('renewed', 'other')).rejects.toThrow(/being run by another process/);
    await holder.release('renewed', 'alive');
  });

  it('numbers concurrent appends from two instances without gaps or duplicates', async () => {
    const [first, second] = [open(), open()];
    await first.createRun({ runId: 'busy', createdAt: 1, definition: {} });
    const entry = (key: string) => ({ key, type: 'message-sent', time: 1, data: {} });
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 ? first : second).append('busy', [entry(`e${index}`), entry(`f${index}`)]),
      ),
    );
    const sequences = (await first.readEntries('busy', 0)).map((read) => read.sequence);
    expect(sequences).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
  });

  it('names the missing setting and the bad schema', () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      expect(() => new PostgresRunStore()).toThrow(/set DATABASE_URL/);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
    expect(() => new PostgresRunStore({ connectionString: database.url, schema: 'x; DROP' })).toThrow(
      InvalidPostgresOptionError,
    );
    expect(() => new PostgresRunStore({ connectionString: database.url, leaseMs: 10 })).toThrow(/leaseMs/);
  });
});
