/**
 * `PostgresSink`: rows into a Postgres table (Flink's JDBC sink), through
 * the `pg` driver.
 *
 * ```ts
 * stream.sinkTo(
 *   PostgresSink.builder<Count>()
 *     .setConnectionString('postgresql://...')
 *     .setTable('status_counts')
 *     .setColumns('window_start', 'status', 'count')
 *     .setRowMapper((c) => [new Date(c.start), c.status, c.count])
 *     .setUpsertKey('window_start', 'status')
 *     .build(),
 * );
 * ```
 *
 * Each checkpoint's rows are written in **one transaction when the
 * checkpoint completes** (batched multi-row `INSERT`s; a transient error —
 * a dropped connection, a serialization failure, a deadlock — rolls it back
 * and it is tried again), so readers see a checkpoint's rows at once:
 *
 * - **append, exactly-once** (the default): the transaction also inserts
 *   `(sink, run, subtask, checkpoint)` into a commit table
 *   (`freshet_sink_commits`, created if missing); a restore that replays a
 *   checkpoint already committed finds its row there and writes nothing.
 * - **upsert** (`setUpsertKey`): `INSERT … ON CONFLICT (key) DO UPDATE`,
 *   idempotent by construction (a replay writes the same values again).
 * - **append, at-least-once**: no commit record; a replay may append twice.
 *
 * A row that breaks a constraint fails the job with the table, the
 * constraint and Postgres's detail in the message. Without checkpointing,
 * rows are written at the end of bounded input.
 */
import type {
  Committer,
  ConnectorSink,
  DeliveryGuarantee,
  SinkWriter,
  SinkWriterContext,
} from '@freshet/api';
import type { Pool, PoolClient } from 'pg';
import { ConnectorConfigError, ConnectorUnavailableError } from '../errors.js';
import { FreshetError, defineErrorClass } from '@freshet/errors';

/** A row broke a table constraint (unique, foreign key, not null, check). Code `FAILED_PRECONDITION`. */
export class PostgresConstraintError extends FreshetError {
  static {
    defineErrorClass(this, 'PostgresConstraintError', 'FAILED_PRECONDITION');
  }
}

/** One checkpoint's rows of one subtask. */
export interface PostgresCommittable {
  runId: string;
  subtask: number;
  rows: unknown[][];
}

interface Settings {
  connectionString: string;
  table: string;
  columns: string[];
  mapRow: (value: unknown) => unknown[];
  upsertKey: string[] | undefined;
  guarantee: DeliveryGuarantee;
  commitTable: string;
  batchSize: number;
  maxRetries: number;
}

/** A quoted SQL identifier (`schema.table` kept as two parts). */
export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

/**
 * The size of a column value as it crosses the wire (text bytes of strings,
 * eight for numbers and dates, the length of binary data): the connectors'
 * `bytesRead` / `bytesWritten`, an estimate that costs no serialization.
 */
export function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof Date) return 8;
  if (typeof v === 'boolean') return 1;
  if (v instanceof Uint8Array) return v.length;
  return Buffer.byteLength(JSON.stringify(v) ?? '');
}

/** SQLSTATEs worth trying the transaction again for: connection failures, serialization failures, deadlocks, shutdowns. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string')
    return /ECONNRESET|ECONNREFUSED|EPIPE|Connection terminated/i.test(
      (error as Error | undefined)?.message ?? '',
    );
  return (
    code.startsWith('08') ||
    code === '40001' ||
    code === '40P01' ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03'
  );
}

/** A lazily created pool (the `pg` driver is imported on first use). */
async function createPool(connectionString: string): Promise<Pool> {
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString, max: 2 });
  // An idle client's error (the server closed it) must not crash the worker; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

class RowBuffer<T> implements SinkWriter<T, PostgresCommittable, never> {
  private rows: unknown[][] = [];
  constructor(
    private readonly s: Settings,
    private readonly ctx: SinkWriterContext,
    private readonly committer: PostgresCommitter,
  ) {}

  /** Connects and creates the commit table now: an unreachable server or a missing table fails the job at once. */
  async start(): Promise<void> {
    await this.committer.prepare();
  }

  write(value: T): void {
    const row = this.s.mapRow(value);
    if (!Array.isArray(row) || row.length !== this.s.columns.length) {
      throw new ConnectorConfigError(
        `PostgresSink ${this.s.table}: the row mapper returned ${Array.isArray(row) ? `${row.length} values` : 'no array'} for ${this.s.columns.length} columns (${this.s.columns.join(', ')})`,
      );
    }
    this.rows.push(row);
  }

  prepareCommit(): PostgresCommittable[] {
    if (this.rows.length === 0) return [];
    const rows = this.rows;
    this.rows = [];
    return [{ runId: this.ctx.runId, subtask: this.ctx.subtaskIndex, rows }];
  }

  close(): void {}
}

class PostgresCommitter implements Committer<PostgresCommittable> {
  private pool: Promise<Pool> | undefined;
  private prepared: Promise<void> | undefined;

  constructor(
    private readonly s: Settings,
    private readonly ctx: SinkWriterContext,
  ) {}

  private connectPool(): Promise<Pool> {
    this.pool ??= createPool(this.s.connectionString);
    return this.pool;
  }

  /** Checks the connection and the table, creates the commit table. */
  prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const pool = await this.connectPool();
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw new ConnectorUnavailableError(
          `PostgresSink ${this.s.table}: cannot connect to ${redact(this.s.connectionString)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      try {
        const found = await client.query('SELECT to_regclass($1) AS t', [this.s.table]);
        if ((found.rows[0] as { t: string | null } | undefined)?.t == null) {
          throw new ConnectorConfigError(
            `PostgresSink: table ${this.s.table} does not exist; create it first`,
          );
        }
        if (this.s.guarantee === 'exactly-once' && this.s.upsertKey === undefined) {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${quoteIdent(this.s.commitTable)} (sink_id text NOT NULL, run_id text NOT NULL, subtask integer NOT NULL, checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sink_id, run_id, subtask, checkpoint_id))`,
          );
        }
      } catch (error) {
        // Two subtasks creating the commit table at once: one loses the race, the table is there.
        if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P07')
          throw error;
      } finally {
        client.release();
      }
    })();
    this.prepared.catch(() => {
      this.prepared = undefined;
    });
    return this.prepared;
  }

  async commit(checkpointId: number, committables: readonly PostgresCommittable[]): Promise<void> {
    await this.prepare();
    const pool = await this.connectPool();
    for (const c of committables) {
      for (let attempt = 1; ; attempt++) {
        try {
          const wrote = await this.commitOne(pool, checkpointId, c);
          if (wrote === false) this.ctx.metrics.inc('commitsAlreadyDone', 1);
          else {
            this.ctx.metrics.inc('rowsCommitted', c.rows.length);
            this.ctx.metrics.inc('bytesWritten', wrote);
          }
          break;
        } catch (error) {
          if (attempt <= this.s.maxRetries && isTransient(error)) {
            this.ctx.metrics.inc('commitRetries', 1);
            await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
            continue;
          }
          throw this.describe(error, checkpointId);
        }
      }
    }
  }

  /** One transaction; the bytes of the values written, or false when the commit table says it was committed before. */
  private async commitOne(pool: Pool, checkpointId: number, c: PostgresCommittable): Promise<number | false> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      if (this.s.guarantee === 'exactly-once' && this.s.upsertKey === undefined) {
        const r = await client.query(
          `INSERT INTO ${quoteIdent(this.s.commitTable)} (sink_id, run_id, subtask, checkpoint_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [this.ctx.operatorId, c.runId, c.subtask, checkpointId],
        );
        if (r.rowCount === 0) {
          await client.query('ROLLBACK');
          return false;
        }
      }
      const rows = this.s.upsertKey === undefined ? c.rows : lastPerKey(c.rows, this.keyIndexes());
      let bytes = 0;
      for (let i = 0; i < rows.length; i += this.s.batchSize) {
        const batch = rows.slice(i, i + this.s.batchSize);
        const values = batch.flat();
        await client.query(this.insertSql(batch.length), values);
        for (const v of values) bytes += valueBytes(v);
      }
      await client.query('COMMIT');
      return bytes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private keyIndexes(): number[] {
    return this.s.upsertKey!.map((k) => this.s.columns.indexOf(k));
  }

  private insertSql(rows: number): string {
    const n = this.s.columns.length;
    const values: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ps: string[] = [];
      for (let c = 0; c < n; c++) ps.push(`$${r * n + c + 1}`);
      values.push(`(${ps.join(', ')})`);
    }
    let sql = `INSERT INTO ${quoteIdent(this.s.table)} (${this.s.columns.map(quoteIdent).join(', ')}) VALUES ${values.join(', ')}`;
    const key = this.s.upsertKey;
    if (key !== undefined) {
      const rest = this.s.columns.filter((c) => !key.includes(c));
      sql += ` ON CONFLICT (${key.map(quoteIdent).join(', ')}) ${
        rest.length === 0
          ? 'DO NOTHING'
          : `DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`
      }`;
    }
    return sql;
  }

  private describe(error: unknown, checkpointId: number): Error {
    const e = error as { code?: string; constraint?: string; detail?: string; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('23')) {
      return new PostgresConstraintError(
        `PostgresSink: writing checkpoint ${checkpointId} into ${this.s.table} violates ${e.constraint ? `constraint ${e.constraint}` : 'a constraint'}: ${e.detail ?? e.message ?? ''}`,
        { cause: error },
      );
    }
    if (error instanceof FreshetError) return error;
    return new ConnectorUnavailableError(
      `PostgresSink ${this.s.table}: writing checkpoint ${checkpointId} failed: ${e.message ?? String(error)}`,
      { cause: error },
    );
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool).end();
  }
}

/** The last row of each key (an upsert batch must not touch a row twice). */
function lastPerKey(rows: readonly unknown[][], key: readonly number[]): unknown[][] {
  const byKey = new Map<string, unknown[]>();
  for (const row of rows) byKey.set(JSON.stringify(key.map((i) => row[i])), row);
  return [...byKey.values()];
}

/** A connection string without its password, for messages. */
function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** The Postgres sink (see the module documentation). */
export class PostgresSink<T> implements ConnectorSink<T, PostgresCommittable, never> {
  declare readonly __type?: (value: T) => void;
  readonly description;
  readonly name = 'Sink: Postgres';
  readonly guarantee: DeliveryGuarantee;
  private readonly committers = new Map<number, PostgresCommitter>();

  constructor(private readonly s: Settings) {
    this.guarantee = s.upsertKey !== undefined ? 'exactly-once' : s.guarantee;
    this.description = {
      connector: 'postgres',
      table: s.table,
      columns: s.columns,
      mode: s.upsertKey === undefined ? 'append' : 'upsert',
      ...(s.upsertKey === undefined ? {} : { upsertKey: s.upsertKey }),
      delivery: this.guarantee,
    };
  }

  /** A builder of a sink of records of type `T`. */
  static builder<T>(): PostgresSinkBuilder<T> {
    return new PostgresSinkBuilder<T>();
  }

  createCommitter(ctx: SinkWriterContext): Committer<PostgresCommittable> {
    const c = new PostgresCommitter(this.s, ctx);
    this.committers.set(ctx.subtaskIndex, c);
    return c;
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T, PostgresCommittable, never> {
    const committer = this.committers.get(ctx.subtaskIndex) ?? new PostgresCommitter(this.s, ctx);
    this.committers.delete(ctx.subtaskIndex);
    return new RowBuffer<T>(this.s, ctx, committer);
  }
}

/** Builds a {@link PostgresSink}. */
export class PostgresSinkBuilder<T> {
  private url: string | undefined;
  private table: string | undefined;
  private columns: string[] | undefined;
  private mapRow: ((value: T) => unknown[]) | undefined;
  private upsertKey: string[] | undefined;
  private guarantee: DeliveryGuarantee = 'exactly-once';
  private commitTable = 'freshet_sink_commits';
  private batchSize = 500;

  /** `postgresql://user:password@host:port/database`. */
  setConnectionString(url: string): this {
    this.url = url;
    return this;
  }

  /** The table (`name` or `schema.name`); it must exist. */
  setTable(table: string): this {
    this.table = table;
    return this;
  }

  /** The columns written, in the order of the row mapper's values. */
  setColumns(...columns: string[]): this {
    this.columns = [...columns];
    return this;
  }

  /** Makes the column values of a record (in `setColumns` order). */
  setRowMapper(mapRow: (value: T) => unknown[]): this {
    if (typeof mapRow !== 'function')
      throw new ConnectorConfigError('PostgresSink.setRowMapper expects a function (value) => column values');
    this.mapRow = mapRow;
    return this;
  }

  /** Upsert on these columns (a unique key of the table): `INSERT … ON CONFLICT … DO UPDATE`. */
  setUpsertKey(...columns: string[]): this {
    this.upsertKey = [...columns];
    return this;
  }

  /** Appends: `exactly-once` (the default, with a commit record) or `at-least-once`. */
  setDeliveryGuarantee(guarantee: 'exactly-once' | 'at-least-once'): this {
    this.guarantee = guarantee;
    return this;
  }

  /** The table recording committed checkpoints. @default 'freshet_sink_commits' */
  setCommitTable(table: string): this {
    this.commitTable = table;
    return this;
  }

  /** Rows per `INSERT` statement. @default 500 */
  setBatchSize(rows: number): this {
    if (!(Number.isInteger(rows) && rows >= 1))
      throw new ConnectorConfigError(`PostgresSink.setBatchSize expects a positive integer (got ${rows})`);
    this.batchSize = rows;
    return this;
  }

  /** The sink. */
  build(): PostgresSink<T> {
    if (this.url === undefined)
      throw new ConnectorConfigError('PostgresSink: setConnectionString(...) is missing');
    if (this.table === undefined) throw new ConnectorConfigError('PostgresSink: setTable(...) is missing');
    if (this.columns === undefined || this.columns.length === 0)
      throw new ConnectorConfigError('PostgresSink: setColumns(...) is missing');
    if (this.mapRow === undefined)
      throw new ConnectorConfigError('PostgresSink: setRowMapper(...) is missing');
    const columns = this.columns;
    const missing = (this.upsertKey ?? []).filter((k) => !columns.includes(k));
    if (missing.length > 0)
      throw new ConnectorConfigError(
        `PostgresSink: upsert key ${missing.join(', ')} is not among the columns ${columns.join(', ')}`,
      );
    return new PostgresSink<T>({
      connectionString: this.url,
      table: this.table,
      columns,
      mapRow: this.mapRow as (value: unknown) => unknown[],
      upsertKey: this.upsertKey,
      guarantee: this.guarantee,
      commitTable: this.commitTable,
      batchSize: this.batchSize,
      maxRetries: 5,
    });
  }
}
