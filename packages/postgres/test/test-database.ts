import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

/** A database made for one test file, and how to drop it. */
export interface TestDatabase {
  /** Connection string of the fresh database. */
  url: string;
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

/**
 * The local cluster `scripts/setup.sh` starts, reached through its Unix socket with peer
 * authentication (no password anywhere). `HOPGEN_TEST_POSTGRES_URL` points the tests at another
 * server; it must name a database the user may connect to and a role that may create databases.
 */
function serverUrl(database: string): string {
  const configured = process.env.HOPGEN_TEST_POSTGRES_URL;
  if (configured) {
    const url = new URL(configured);
    url.pathname = `/${database}`;
    return url.toString();
  }
  return `postgresql://${encodeURIComponent(userInfo().username)}@/${database}?host=/var/run/postgresql`;
}

async function onMaintenanceDatabase<T>(action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `No PostgreSQL for the tests (${(error as Error).message}). Run \`sudo bash scripts/setup.sh\` once; it starts the cluster and creates your role.`,
    );
  }
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database on the local cluster for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hopgen_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await onMaintenanceDatabase((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: serverUrl(name),
    drop: () =>
      onMaintenanceDatabase((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => {},
      ),
  };
}
