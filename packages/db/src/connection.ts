import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The little SQL surface the migration runner and the test fixtures need, over
 * one dedicated connection (advisory locks and transactions are per session).
 * Implemented for node-postgres and for PGlite.
 */
export interface SqlConnection {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<Row extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<Row[]>;
  /** Runs a script of one or more statements without parameters (simple query protocol). */
  exec(script: string): Promise<void>;
}

/** Wraps a node-postgres client (not a pool: the runner needs one session). */
export function pgConnection(client: pg.ClientBase): SqlConnection {
  return {
    async query<Row extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

/** Wraps a PGlite instance (PGlite is a single session by nature). */
export function pgliteConnection(db: PGlite): SqlConnection {
  return {
    async query<Row extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await db.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(script) {
      await db.exec(script);
    },
  };
}
