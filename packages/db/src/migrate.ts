import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { defineErrorClass, FreshetError } from '@freshet/errors';
import { pgConnection, type SqlConnection } from './connection.js';

/**
 * The repository's `prisma/migrations` folder. Resolved from this module's own
 * location, which is `packages/db/src` or `packages/db/dist`: both are three
 * levels below the repository root.
 */
export const defaultMigrationsDir: string = fileURLToPath(
  new URL('../../../prisma/migrations', import.meta.url),
);

/**
 * The advisory lock key Prisma's schema engine takes around `migrate deploy` on
 * PostgreSQL. Taking the same key makes our runner and a `prisma migrate deploy`
 * run elsewhere exclude each other, not only two JobManagers.
 */
export const MIGRATION_LOCK_KEY = 72707369;

/** One migration folder: `prisma/migrations/<name>/migration.sql`. */
export interface Migration {
  /** Folder name, e.g. `20261124223000_init`; migrations apply in name order. */
  readonly name: string;
  /** The SQL script, exactly as on disk. */
  readonly sql: string;
  /** sha256 hex of the script, as Prisma records it in `_prisma_migrations.checksum`. */
  readonly checksum: string;
}

/** Options of {@link applyMigrations}. */
export interface MigrateOptions {
  /**
   * Folder holding the migration folders.
   * @default defaultMigrationsDir (the repository's prisma/migrations)
   */
  readonly migrationsDir?: string;
  /** Called once per applied migration, e.g. to log it. */
  readonly onApplied?: (migration: Migration) => void;
}

/** What {@link applyMigrations} did. */
export interface MigrateResult {
  /** Names of the migrations this call applied, in order (empty when up to date). */
  readonly applied: readonly string[];
  /** Names of all migrations found on disk. */
  readonly known: readonly string[];
}

/**
 * A migration could not be applied, or the recorded history forbids applying
 * any. Code `FAILED_PRECONDITION`: the database needs an operator's repair.
 */
export class MigrationError extends FreshetError<{ migration?: string }> {
  static {
    defineErrorClass(this, 'MigrationError', 'FAILED_PRECONDITION');
  }

  constructor(message: string, migration?: string, options?: ErrorOptions) {
    const details = migration === undefined ? {} : { migration };
    super(message, options && 'cause' in options ? { details, cause: options.cause } : { details });
  }

  /** The migration concerned, when there is one. */
  get migration(): string | undefined {
    return this.details.migration;
  }
}

/** sha256 hex of a migration script: the checksum Prisma stores for it. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Reads the migrations of a folder in Prisma's layout, sorted by name. */
export async function readMigrations(migrationsDir: string = defaultMigrationsDir): Promise<Migration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    let sql: string;
    try {
      sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    migrations.push({ name, sql, checksum: migrationChecksum(sql) });
  }
  return migrations;
}

// The table exactly as Prisma's schema engine creates it on PostgreSQL, so that
// `prisma migrate deploy/status` on a machine with the native engine reads our
// history as its own.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/**
 * Applies the pending migrations over one connection.
 *
 * Holds Postgres' session advisory lock {@link MIGRATION_LOCK_KEY} for the whole
 * run, so concurrent callers (two JobManagers starting at once, or a
 * `prisma migrate deploy`) serialize: the second one waits, then finds nothing
 * left to do. Each migration runs in its own transaction together with its
 * `_prisma_migrations` row, so a failing migration leaves neither schema
 * changes nor a half-written history behind. (Unlike Prisma, which runs scripts
 * outside a transaction: a migration must therefore avoid statements that cannot
 * run in one, such as `CREATE INDEX CONCURRENTLY`.)
 *
 * Refuses to run when the history holds a failed migration (as Prisma does) or
 * when an applied migration's file was edited afterwards.
 */
export async function applyMigrations(
  conn: SqlConnection,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const migrations = await readMigrations(options.migrationsDir ?? defaultMigrationsDir);
  await conn.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  try {
    await conn.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await conn.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    );
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `Migration ${failed.migration_name} is recorded as started but not finished in _prisma_migrations. ` +
          'Repair the database by hand, then mark it rolled back (set rolled_back_at) or finished.',
        failed.migration_name,
      );
    }
    const applied = new Map<string, string>();
    for (const row of rows) if (row.finished_at !== null) applied.set(row.migration_name, row.checksum);

    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.name);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was changed after it was applied (checksum ${checksum} in the database, ` +
              `${migration.checksum} on disk). Never edit an applied migration: revert the file and add a new migration.`,
            migration.name,
          );
        }
        continue;
      }
      await applyOne(conn, migration);
      done.push(migration.name);
      options.onApplied?.(migration);
    }
    return { applied: done, known: migrations.map((m) => m.name) };
  } finally {
    await conn.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
  }
}

async function applyOne(conn: SqlConnection, migration: Migration): Promise<void> {
  const id = randomUUID();
  await conn.exec('BEGIN');
  try {
    await conn.query(
      'INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count") ' +
        'VALUES ($1, $2, $3, clock_timestamp(), 0)',
      [id, migration.checksum, migration.name],
    );
    await conn.exec(migration.sql);
    await conn.query(
      'UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1 WHERE "id" = $1',
      [id],
    );
    await conn.exec('COMMIT');
  } catch (error) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `Migration ${migration.name} failed and was rolled back: ${reason}`,
      migration.name,
      {
        cause: error,
      },
    );
  }
}

/**
 * Applies the pending migrations to the Postgres database at `url` over a
 * dedicated connection that is closed afterwards.
 */
export async function migratePostgres(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await applyMigrations(pgConnection(client), options);
  } finally {
    await client.end();
  }
}
