/**
 * `PostgresSource`: the rows of a query, bounded, read in parallel by key
 * range (Flink's JDBC source with a numeric partition column).
 *
 * ```ts
 * const source = PostgresSource.builder<Order>()
 *   .setConnectionString('postgresql://...')
 *   .setQuery('SELECT id, customer, amount FROM orders WHERE amount > 0')
 *   .setKeyColumn('id')
 *   .setSplits(8)
 *   .build();
 * ```
 *
 * The enumerator asks for the smallest and largest key of the query and
 * cuts `[min, max]` into `splits` ranges; each range is a split, read in
 * pages in key order (`WHERE key > $last AND key <= $hi ORDER BY key
 * LIMIT n`: keyset pagination), so its position is the last key emitted and
 * a restored reader continues after it. The key must be an integer column,
 * unique within the query.
 */
import type {
  InputStatus,
  ReaderOutput,
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
} from '@freshet/api';
import type { Pool } from 'pg';
import { ConnectorConfigError, ConnectorUnavailableError } from '../errors.js';
import { quoteIdent, valueBytes } from './sink.js';

/** A key range `(last, hi]` still to read. */
export interface PostgresSplit {
  readonly splitId: string;
  /** The last key emitted (the range's low end minus one at first). */
  last: number;
  /** The range's high end (inclusive). */
  hi: number;
}

interface Settings {
  connectionString: string;
  query: string;
  key: string;
  splits: number;
  pageSize: number;
}

async function pool(url: string): Promise<Pool> {
  const pg = await import('pg');
  const p = new pg.default.Pool({ connectionString: url, max: 1 });
  p.on('error', () => undefined);
  return p;
}

class RangeEnumerator implements SplitEnumerator<PostgresSplit, { done: boolean }> {
  private done: boolean;
  constructor(
    private readonly s: Settings,
    restored: readonly { done: boolean }[],
  ) {
    this.done = restored.some((r) => r.done);
  }
  async discoverSplits(): Promise<PostgresSplit[]> {
    if (this.done) return [];
    const p = await pool(this.s.connectionString);
    let min: number;
    let max: number;
    try {
      const r = await p.query(
        `SELECT min(${quoteIdent(this.s.key)})::text AS lo, max(${quoteIdent(this.s.key)})::text AS hi FROM (${this.s.query}) AS q`,
      );
      const row = r.rows[0] as { lo: string | null; hi: string | null };
      min = Number(row.lo);
      max = Number(row.hi);
      if (row.lo === null) {
        this.done = true;
        return [];
      }
    } catch (error) {
      throw new ConnectorUnavailableError(
        `PostgresSource: ${(error as Error).message} (query: ${this.s.query})`,
        { cause: error },
      );
    } finally {
      await p.end();
    }
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) {
      throw new ConnectorConfigError(
        `PostgresSource: key column ${this.s.key} must be an integer (got ${min}..${max})`,
      );
    }
    const n = Math.max(1, Math.min(this.s.splits, max - min + 1));
    const splits: PostgresSplit[] = [];
    for (let i = 0; i < n; i++) {
      const lo = min + Math.floor(((max - min + 1) * i) / n);
      const hi = min + Math.floor(((max - min + 1) * (i + 1)) / n) - 1;
      splits.push({ splitId: `keys-${lo}-${hi}`, last: lo - 1, hi });
    }
    this.done = true;
    return splits;
  }
  snapshotState(): { done: boolean } {
    return { done: this.done };
  }
}

class RangeReader<T> implements SourceReader<T, PostgresSplit> {
  private readonly splits: PostgresSplit[] = [];
  private page: { split: PostgresSplit; rows: Record<string, unknown>[]; next: number } | undefined;
  private loading = false;
  private noMore = false;
  private pool: Promise<Pool> | undefined;

  constructor(
    private readonly s: Settings,
    private readonly ctx: SourceReaderContext,
  ) {}

  addSplits(splits: readonly PostgresSplit[]): void {
    for (const s of splits) this.splits.push({ ...s });
    this.load();
  }
  notifyNoMoreSplits(): void {
    this.noMore = true;
    this.ctx.wakeUp();
  }

  /** Fetches the next page of the first split in the background. */
  private load(): void {
    const split = this.splits[0];
    if (this.loading || this.page !== undefined || split === undefined) return;
    this.loading = true;
    this.pool ??= pool(this.s.connectionString);
    const key = quoteIdent(this.s.key);
    void this.pool
      .then((p) =>
        p.query(
          `SELECT * FROM (${this.s.query}) AS q WHERE ${key} > $1 AND ${key} <= $2 ORDER BY ${key} LIMIT ${this.s.pageSize}`,
          [split.last, split.hi],
        ),
      )
      .then(
        (r) => {
          this.loading = false;
          const rows = r.rows as Record<string, unknown>[];
          let bytes = 0;
          for (const row of rows) for (const k in row) bytes += valueBytes(row[k]);
          this.ctx.metrics.inc('bytesRead', bytes);
          this.page = { split, rows, next: 0 };
          this.ctx.wakeUp();
        },
        (error: unknown) => {
          this.loading = false;
          this.ctx.fail(
            new ConnectorUnavailableError(
              `PostgresSource: ${(error as Error).message} (query: ${this.s.query})`,
              { cause: error },
            ),
          );
        },
      );
  }

  pollNext(output: ReaderOutput<T>, maxRecords: number): InputStatus {
    const page = this.page;
    if (page === undefined) {
      if (this.splits.length === 0 && this.noMore) return 'END_OF_INPUT';
      this.load();
      return 'NOTHING_AVAILABLE';
    }
    const out = output.forSplit(page.split.splitId);
    const stop = Math.min(page.rows.length, page.next + maxRecords);
    for (let i = page.next; i < stop; i++) {
      const row = page.rows[i]!;
      page.split.last = Number(row[this.s.key]);
      out.collect(row as T);
    }
    page.next = stop;
    if (page.next < page.rows.length) return 'MORE_AVAILABLE';
    this.page = undefined;
    if (page.rows.length < this.s.pageSize) {
      // The range is done.
      this.splits.shift();
      output.splitFinished(page.split.splitId);
    }
    this.load();
    return this.splits.length === 0 && this.noMore ? 'END_OF_INPUT' : 'MORE_AVAILABLE';
  }

  snapshotState(): PostgresSplit[] {
    return this.splits.map((s) => ({ ...s }));
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await (await p).end();
  }
}

/** The bounded Postgres source (see the module documentation). */
export class PostgresSource<T> implements Source<T, PostgresSplit, { done: boolean }> {
  declare readonly __type?: (value: never) => T;
  readonly boundedness = 'BOUNDED' as const;
  readonly description;

  constructor(private readonly s: Settings) {
    this.description = { connector: 'postgres', query: s.query, keyColumn: s.key, splits: s.splits };
  }

  /** A builder of a source of rows of type `T`. */
  static builder<T = Record<string, unknown>>(): PostgresSourceBuilder<T> {
    return new PostgresSourceBuilder<T>();
  }

  createEnumerator(
    _ctx: unknown,
    restored: readonly { done: boolean }[],
  ): SplitEnumerator<PostgresSplit, { done: boolean }> {
    return new RangeEnumerator(this.s, restored);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, PostgresSplit> {
    return new RangeReader<T>(this.s, ctx);
  }
}

/** Builds a {@link PostgresSource}. */
export class PostgresSourceBuilder<T> {
  private url: string | undefined;
  private query: string | undefined;
  private key: string | undefined;
  private splits = 4;
  private pageSize = 1000;

  /** `postgresql://user:password@host:port/database`. */
  setConnectionString(url: string): this {
    this.url = url;
    return this;
  }
  /** The query (a `SELECT` without `ORDER BY`/`LIMIT`). */
  setQuery(query: string): this {
    this.query = query;
    return this;
  }
  /** A whole table. */
  setTable(table: string): this {
    this.query = `SELECT * FROM ${quoteIdent(table)}`;
    return this;
  }
  /** The integer key the ranges cut (unique within the query). */
  setKeyColumn(column: string): this {
    this.key = column;
    return this;
  }
  /** Number of key ranges. @default 4 */
  setSplits(n: number): this {
    this.splits = n;
    return this;
  }
  /** Rows per query. @default 1000 */
  setPageSize(n: number): this {
    this.pageSize = n;
    return this;
  }
  /** The source. */
  build(): PostgresSource<T> {
    if (this.url === undefined || this.query === undefined || this.key === undefined) {
      throw new ConnectorConfigError(
        'PostgresSource needs setConnectionString, setQuery (or setTable) and setKeyColumn',
      );
    }
    return new PostgresSource<T>({
      connectionString: this.url,
      query: this.query,
      key: this.key,
      splits: this.splits,
      pageSize: this.pageSize,
    });
  }
}
