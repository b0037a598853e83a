/**
 * PostgresSink and PostgresSource against a real Postgres (a fresh database
 * on the server `FRESHET_TEST_DATABASE_URL` names, as `.ci/run` sets it) or,
 * without one, against embedded PGlite served on a loopback port, run by the runtime's framework operators: exactly-once appends across a
 * restore, idempotent upserts, a constraint violation, and a parallel read
 * by key range that resumes mid-range and redistributes on a rescale.
 */
import { WatermarkStrategy, type StreamExecutionEnvironment } from '@freshet/api';
import { PostgresConstraintError, PostgresSink, PostgresSource } from '@freshet/connectors';
import { createTestDatabaseUrl } from '@freshet/db/testing';
import type { OperatorSnapshot } from '@freshet/runtime';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPGliteServer } from './pglite-server.js';
import { complete, emitUpTo, openSink, openSource, roundTrip } from './support.js';

let db: { url: string; dispose(): Promise<void> } | undefined;
let client: pg.Client;

describe(`Postgres connectors (${process.env.FRESHET_TEST_DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  beforeAll(async () => {
    db = (await createTestDatabaseUrl()) ?? (await startPGliteServer());
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.dispose();
  });

  const rows = async (sql: string): Promise<unknown[]> => (await client.query(sql)).rows as unknown[];

  interface Ev {
    id: number;
    name: string;
  }
  const appendSink =
    (table: string) =>
    (env: StreamExecutionEnvironment): void => {
      env.fromElements({ id: 0, name: '' }).sinkTo(
        PostgresSink.builder<Ev>()
          .setConnectionString(db!.url)
          .setTable(table)
          .setColumns('id', 'name')
          .setRowMapper((e) => [e.id, e.name])
          .build(),
      );
    };

  it('appends exactly once: a checkpoint commits its rows in one transaction, a replayed one writes nothing', async () => {
    await client.query('CREATE TABLE events (id integer, name text)');
    const build = appendSink('events');
    const a0 = await openSink(build, 0, 1);
    a0.processElement({ id: 1, name: 'a' }).processElement({ id: 2, name: 'b' });
    a0.snapshot(1);
    expect(await rows('SELECT * FROM events')).toEqual([]);
    await complete(a0, 1);
    expect(await rows('SELECT id FROM events ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    // Two rows of an integer (8 bytes) and a one-letter name.
    expect(a0.head.connectorMetrics!()).toMatchObject({
      recordsWritten: 2,
      rowsCommitted: 2,
      bytesWritten: 18,
    });
    a0.processElement({ id: 3, name: 'c' });
    const state2 = roundTrip(a0.snapshot(2));
    a0.close();
    // Checkpoint 2 completed but the subtask died before it committed: the restore commits it.
    const a1 = await openSink(build, 0, 1, { restored: [state2], attempt: 1 });
    expect(a1.failures).toEqual([]);
    expect(await rows('SELECT id FROM events ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    a1.close();
    // Restored from checkpoint 2 once more: its rows are in already.
    const a2 = await openSink(build, 0, 1, { restored: [state2], attempt: 2 });
    expect(a2.head.connectorMetrics!()).toMatchObject({ commitsAlreadyDone: 1 });
    expect(await rows('SELECT count(*)::int AS n FROM events')).toEqual([{ n: 3 }]);
    expect(await rows('SELECT count(*)::int AS n FROM freshet_sink_commits')).toEqual([{ n: 2 }]);
    a2.close();
  });

  it('upserts idempotently: the last value of a key wins, a replay changes nothing', async () => {
    await client.query('CREATE TABLE counts (k text PRIMARY KEY, n integer NOT NULL)');
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromElements({ k: '', n: 0 }).sinkTo(
        PostgresSink.builder<{ k: string; n: number }>()
          .setConnectionString(db!.url)
          .setTable('counts')
          .setColumns('k', 'n')
          .setRowMapper((c) => [c.k, c.n])
          .setUpsertKey('k')
          .build(),
      );
    };
    const h = await openSink(build, 0, 1);
    h.processElement({ k: 'a', n: 1 }).processElement({ k: 'b', n: 1 }).processElement({ k: 'a', n: 2 });
    const state = roundTrip(h.snapshot(1));
    await complete(h, 1);
    h.close();
    const again = await openSink(build, 0, 1, { restored: [state], attempt: 1 });
    expect(again.failures).toEqual([]);
    expect(await rows('SELECT k, n FROM counts ORDER BY k')).toEqual([
      { k: 'a', n: 2 },
      { k: 'b', n: 1 },
    ]);
    again.close();
  });

  it('fails with the table and the constraint when a row breaks one', async () => {
    await client.query('CREATE TABLE unique_ids (id integer CONSTRAINT unique_ids_id UNIQUE, name text)');
    const h = await openSink(appendSink('unique_ids'), 0, 1);
    h.processElement({ id: 7, name: 'x' }).processElement({ id: 7, name: 'y' });
    h.snapshot(1);
    await complete(h, 1);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toBeInstanceOf(PostgresConstraintError);
    expect((h.failures[0] as Error).message).toMatch(
      /into unique_ids violates constraint unique_ids_id: Key \(id\)=\(7\) already exists/,
    );
    expect(await rows('SELECT count(*)::int AS n FROM unique_ids')).toEqual([{ n: 0 }]);
    h.close();
  });

  it('reads a query in key ranges in parallel, resumes mid-range, and redistributes on a rescale', async () => {
    await client.query(
      'CREATE TABLE orders AS SELECT g AS id, g % 7 AS customer FROM generate_series(1, 1000) AS g',
    );
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromSource(
        PostgresSource.builder<{ id: number; customer: number }>()
          .setConnectionString(db!.url)
          .setQuery('SELECT id, customer FROM orders WHERE customer <> 3')
          .setKeyColumn('id')
          .setSplits(5)
          .setPageSize(64)
          .build(),
        WatermarkStrategy.noWatermarks(),
        'orders',
      );
    };
    const seen: number[] = [];
    const states: OperatorSnapshot[] = [];
    for (let s = 0; s < 2; s++) {
      const sub = await openSource(build, s, 2);
      await emitUpTo(sub, 150);
      seen.push(...sub.h.values<{ id: number }>().map((r) => r.id));
      // Whole pages were fetched (two integers a row), of which 150 rows were emitted.
      const m = sub.src.connectorMetrics();
      expect(m.recordsRead).toBe(150);
      expect(m.bytesRead! % 16).toBe(0);
      expect(m.bytesRead).toBeGreaterThanOrEqual(150 * 16);
      states.push(roundTrip(sub.src.snapshotState(1)));
      sub.h.close();
    }
    for (let s = 0; s < 3; s++) {
      const sub = await openSource(build, s, 3, { restored: states });
      expect(await emitUpTo(sub, Infinity)).toBe('END');
      seen.push(...sub.h.values<{ id: number }>().map((r) => r.id));
      sub.h.close();
    }
    const expected = Array.from({ length: 1000 }, (_, i) => i + 1).filter((id) => id % 7 !== 3);
    expect(seen.sort((a, b) => a - b)).toEqual(expected);
  });
});
