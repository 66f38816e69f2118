import {
  LeaseLostError,
  type NewRunEntry,
  type RequestAnswer,
  RequestAnswerError,
  type RunEntry,
  type RunHeader,
  RunLockedError,
  RunNotFoundError,
  type RunStore,
  type StoredRun,
} from '@hopgen/agents';
import type pg from 'pg';
import {
  checkSchemaName,
  type DatabaseConnectionOptions,
  inTransaction,
  openDatabasePool,
} from './database-pool.js';
import { InvalidPostgresOptionError } from './errors.js';
import { migrate } from './migrations.js';

/** Options of {@link PostgresRunStore}. */
export interface PostgresRunStoreOptions extends DatabaseConnectionOptions {
  /** Schema holding the store's tables, created by the migrations. @default 'hopgen' */
  schema?: string;
  /**
   * How long a lease lasts without renewal, in milliseconds. The holder renews it every third of
   * this; when the holder dies, another process can take the run over once it runs out.
   * @default 10000
   */
  leaseMs?: number;
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

interface EntryRow {
  sequence: number;
  key: string;
  type: string;
  time: string;
  data: RunEntry['data'];
}

/**
 * A {@link RunStore} in PostgreSQL, so the checkpoints of workers on many machines go to one
 * database. An append is one transaction that takes the next sequence numbers from the run's row
 * (locked for the transaction); an answer's primary key makes a second answer fail in any process;
 * a lease is a row with an expiry that its holder renews, so a killed holder's run can be taken
 * over once the lease runs out. Call {@link PostgresRunStore.close} when done.
 */
export class PostgresRunStore implements RunStore {
  /** The schema holding the tables. */
  readonly schema: string;
  /** Lease length in milliseconds. */
  readonly leaseMs: number;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #ready: Promise<void>;
  /** Renewal timers of the leases this instance holds, by run id. */
  readonly #renewals = new Map<string, NodeJS.Timeout>();
  #closed: Promise<void> | undefined;

  constructor(options: PostgresRunStoreOptions = {}) {
    this.schema = checkSchemaName(options.schema ?? 'hopgen');
    this.leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isFinite(this.leaseMs) || this.leaseMs < 300) {
      throw new InvalidPostgresOptionError(
        `leaseMs must be at least 300 milliseconds (got ${options.leaseMs}); a lease is renewed every third of it.`,
      );
    }
    const { pool, owned } = openDatabasePool(options);
    this.#pool = pool;
    this.#ownsPool = owned;
    this.#ready = migrate(pool, this.schema);
    // A failed migration surfaces on the first call; it must not be an unhandled rejection before.
    this.#ready.catch(() => {});
  }

  /** Resolves once the schema is migrated; every method waits for it anyway. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async #query<Row extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    await this.#ready;
    return this.#pool.query<Row>(text, values);
  }

  #notFound(runId: string): RunNotFoundError {
    return new RunNotFoundError(
      `No run ${runId} in schema ${this.schema}. Check the run id and the database.`,
    );
  }

  async createRun(header: RunHeader): Promise<void> {
    try {
      await this.#query(`INSERT INTO ${this.schema}.runs (run_id, created_at, header) VALUES ($1, $2, $3)`, [
        header.runId,
        header.createdAt,
        JSON.stringify(header),
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new RunLockedError(`Run ${header.runId} already exists. Resume it with resumeRun instead.`);
      }
      throw error;
    }
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const run = await this.#query<{ header: RunHeader }>(
      `SELECT header FROM ${this.schema}.runs WHERE run_id = $1`,
      [runId],
    );
    const header = run.rows[0]?.header;
    if (header === undefined) return undefined;
    return { header, entries: await this.readEntries(runId, 0), answers: await this.readAnswers(runId) };
  }

  async append(runId: string, entries: readonly NewRunEntry[], owner?: string): Promise<RunEntry[]> {
    await this.#ready;
    return inTransaction(this.#pool, async (client) => {
      if (owner !== undefined) {
        // FOR SHARE holds the lease row until this transaction ends, so a take-over (which updates
        // or deletes it) waits for this append, and an append after a take-over finds another owner.
        const held = await client.query(
          `SELECT 1 FROM ${this.schema}.run_leases WHERE run_id = $1 AND owner = $2 FOR SHARE`,
          [runId, owner],
        );
        if (held.rows.length === 0) {
          throw new LeaseLostError(
            `Run ${runId} is no longer leased to this writer (schema ${this.schema}): its lease was released or taken over by another process, so this append was refused. Stop this run here; the lease holder goes on with it.`,
          );
        }
      }
      // The row lock orders concurrent appends; the numbers are taken and used in one transaction.
      const updated = await client.query<{ last_sequence: number }>(
        `UPDATE ${this.schema}.runs SET last_sequence = last_sequence + $2 WHERE run_id = $1 RETURNING last_sequence`,
        [runId, entries.length],
      );
      const last = updated.rows[0]?.last_sequence;
      if (last === undefined) throw this.#notFound(runId);
      const added = entries.map((entry, index) => ({
        ...entry,
        sequence: last - entries.length + index + 1,
      }));
      if (added.length > 0) {
        await client.query(
          `INSERT INTO ${this.schema}.run_entries (run_id, sequence, key, type, time, data)
           SELECT $1, entry.sequence, entry.key, entry.type, entry.time, entry.data
           FROM json_to_recordset($2::json) AS entry(sequence integer, key text, type text, time bigint, data json)`,
          [runId, JSON.stringify(added)],
        );
      }
      return added;
    });
  }

  async readEntries(runId: string, after: number): Promise<RunEntry[]> {
    // `after` as bigint: the sequence column is an integer, and a parameter compared with it would be
    // read as one, so an `after` past its range (the server's existence check asks past any entry)
    // would fail instead of finding nothing.
    const result = await this.#query<EntryRow & { found: boolean }>(
      `SELECT entry.sequence, entry.key, entry.type, entry.time, entry.data
       FROM ${this.schema}.runs AS run
       LEFT JOIN ${this.schema}.run_entries AS entry ON entry.run_id = run.run_id AND entry.sequence > $2::bigint
       WHERE run.run_id = $1 ORDER BY entry.sequence`,
      [runId, after],
    );
    if (result.rows.length === 0) throw this.#notFound(runId);
    return result.rows
      .filter((row) => row.sequence !== null)
      .map((row) => ({
        sequence: row.sequence,
        key: row.key,
        type: row.type,
        time: Number(row.time),
        data: row.data,
      }));
  }

  async addAnswer(runId: string, answer: RequestAnswer): Promise<void> {
    try {
      await this.#query(
        `INSERT INTO ${this.schema}.run_answers (run_id, request_id, answer, answered_at) VALUES ($1, $2, $3, $4)`,
        [runId, answer.requestId, JSON.stringify(answer.answer), answer.answeredAt],
      );
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === UNIQUE_VIOLATION) {
        throw new RequestAnswerError(
          `Request ${answer.requestId} of run ${runId} was answered already; the first answer counts. List open ones with pendingRequests(store, runId).`,
        );
      }
      if (code === FOREIGN_KEY_VIOLATION) throw this.#notFound(runId);
      throw error;
    }
  }

  async readAnswers(runId: string): Promise<RequestAnswer[]> {
    const result = await this.#query<{
      request_id: string | null;
      answer: RequestAnswer['answer'];
      answered_at: string;
    }>(
      `SELECT answer.request_id, answer.answer, answer.answered_at
       FROM ${this.schema}.runs AS run
       LEFT JOIN ${this.schema}.run_answers AS answer ON answer.run_id = run.run_id
       WHERE run.run_id = $1 ORDER BY answer.position`,
      [runId],
    );
    if (result.rows.length === 0) throw this.#notFound(runId);
    return result.rows.flatMap((row) =>
      row.request_id === null
        ? []
        : [{ requestId: row.request_id, answer: row.answer, answeredAt: Number(row.answered_at) }],
    );
  }

  async acquire(runId: string, owner: string): Promise<void> {
    let taken: pg.QueryResult<{ owner: string }>;
    try {
      // Taken when free, already ours, or its holder stopped renewing it (killed, or cut off).
      taken = await this.#query<{ owner: string }>(
        `INSERT INTO ${this.schema}.run_leases AS lease (run_id, owner, expires_at)
         VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE lease.owner = excluded.owner OR lease.expires_at < clock_timestamp()
         RETURNING lease.owner`,
        [runId, owner, this.leaseMs],
      );
    } catch (error) {
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw this.#notFound(runId);
      throw error;
    }
    if (taken.rows.length === 0) {
      throw new RunLockedError(
        `Run ${runId} is being run by another process (its lease is renewed every ${Math.round(this.leaseMs / 3)} ms). Wait for it to finish, or resume after its lease runs out (${this.leaseMs} ms after its holder stops).`,
      );
    }
    this.#renew(runId, owner);
  }

  #renew(runId: string, owner: string): void {
    clearInterval(this.#renewals.get(runId));
    const timer = setInterval(() => {
      this.#pool
        .query(
          `UPDATE ${this.schema}.run_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE run_id = $1 AND owner = $2`,
          [runId, owner, this.leaseMs],
        )
        .catch(() => {}); // A missed renewal is retried on the next tick; the lease outlasts two of them.
    }, this.leaseMs / 3);
    timer.unref();
    this.#renewals.set(runId, timer);
  }

  async release(runId: string, owner: string): Promise<void> {
    clearInterval(this.#renewals.get(runId));
    this.#renewals.delete(runId);
    await this.#query(`DELETE FROM ${this.schema}.run_leases WHERE run_id = $1 AND owner = $2`, [
      runId,
      owner,
    ]);
  }

  async listRuns(): Promise<string[]> {
    const result = await this.#query<{ run_id: string }>(
      `SELECT run_id FROM ${this.schema}.runs ORDER BY created_at, run_id`,
    );
    return result.rows.map((row) => row.run_id);
  }

  /**
   * Stops renewing leases and closes the pool when the store opened it. Leases still held are left
   * to run out, as a killed process's would; release them first to hand runs over at once.
   */
  close(): Promise<void> {
    for (const timer of this.#renewals.values()) clearInterval(timer);
    this.#renewals.clear();
    this.#closed ??= this.#ready.catch(() => {}).then(() => (this.#ownsPool ? this.#pool.end() : undefined));
    return this.#closed;
  }
}
