import { userInfo } from 'node:os';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { InvalidPostgresOptionError } from './errors.js';

/** Where to connect: a connection string, or a pool the caller owns. */
export interface DatabaseConnectionOptions {
  /**
   * A PostgreSQL connection string, e.g. `postgresql:///hopgen?host=/var/run/postgresql` (a Unix
   * socket, no password) or `postgresql://worker@db.internal/hopgen` with the password in
   * `PGPASSWORD` or `~/.pgpass`. Without a user name, the operating-system user's is used.
   * @default the `DATABASE_URL` environment variable
   */
  connectionString?: string;
  /** A pool to use instead; the caller closes it. @default a new pool of 10 connections */
  pool?: pg.Pool;
}

/** A pool for `options`, and whether it is ours to close (false when the caller passed it). */
export function openDatabasePool(options: DatabaseConnectionOptions): { pool: pg.Pool; owned: boolean } {
  if (options.pool) return { pool: options.pool, owned: false };
  const connectionString = options.connectionString ?? process.env.DATABASE_URL;
  if (connectionString === undefined || connectionString === '') {
    throw new InvalidPostgresOptionError(
      'No database given. Pass connectionString (e.g. "postgresql:///hopgen?host=/var/run/postgresql") or set DATABASE_URL.',
    );
  }
  const config = parse(connectionString) as pg.PoolConfig;
  // pg sends no user name when the string has none and USER is unset (services, containers).
  config.user ??= process.env.PGUSER ?? userInfo().username;
  const pool = new pg.Pool(config);
  // An idle connection the server closes (a restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return { pool, owned: true };
}

/** Schema names are spliced into SQL, so only plain identifiers are accepted. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidPostgresOptionError(
      `Schema name ${JSON.stringify(schema)} is not a plain identifier. Use lower-case letters, digits and '_' (e.g. "hopgen").`,
    );
  }
  return schema;
}

/** Runs `work` in one transaction on a client of `pool`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
