/**
 * Disposable databases for tests: `@freshet/db/testing`.
 *
 * With `FRESHET_TEST_DATABASE_URL` set to an admin URL of a real PostgreSQL
 * (e.g. `postgresql://postgres:postgres@127.0.0.1:5432/postgres`), each fixture
 * is a freshly created, uniquely named database that is dropped on dispose.
 * Without it, fixtures are PGlite databases in temporary directories.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { z } from 'zod';
import { pgliteConnection } from './connection.js';
import { applyMigrations, migratePostgres } from './migrate.js';
import { openDatabase, openPGlite, type FreshetDatabase } from './open.js';

/** Name of the environment variable holding the admin URL of a test PostgreSQL. */
export const TEST_DATABASE_URL_ENV = 'FRESHET_TEST_DATABASE_URL';

const testEnv = z.object({
  [TEST_DATABASE_URL_ENV]: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()))
    .pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
});

/**
 * The admin URL of the test PostgreSQL from `FRESHET_TEST_DATABASE_URL`, or
 * undefined when tests should use PGlite.
 */
export function testPostgresAdminUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return testEnv.parse(env)[TEST_DATABASE_URL_ENV];
}

/** A fresh, empty PostgreSQL database owned by one test. */
export interface TestPostgresDatabase extends AsyncDisposable {
  /** Connection URL of the new database, e.g. to pass as `DATABASE_URL` to a child process. */
  readonly url: string;
  /** Its name. */
  readonly name: string;
  /** Drops the database, disconnecting any remaining sessions first. */
  dispose(): Promise<void>;
}

/** Options of {@link createTestDatabaseUrl}. */
export interface CreateTestDatabaseUrlOptions {
  /**
   * Apply the migrations before returning. Off by default because the usual
   * consumer is a JobManager child process, which migrates at start-up itself.
   * @default false
   */
  readonly migrate?: boolean;
}

/**
 * Creates a uniquely named database on the PostgreSQL named by
 * `FRESHET_TEST_DATABASE_URL`; undefined when that variable is not set (the
 * caller then falls back to PGlite, e.g. by not passing `DATABASE_URL`).
 */
export async function createTestDatabaseUrl(
  options: CreateTestDatabaseUrlOptions = {},
): Promise<TestPostgresDatabase | undefined> {
  const adminUrl = testPostgresAdminUrl();
  if (adminUrl === undefined) return undefined;

  const name = `freshet_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(adminUrl, name);
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= withAdmin(adminUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    ).then(() => undefined));
  try {
    if (options.migrate) await migratePostgres(url);
  } catch (error) {
    await dispose();
    throw error;
  }
  return { url, name, dispose, [Symbol.asyncDispose]: dispose };
}

/** A migrated database for one test, with its Prisma client. */
export interface TestDatabase extends AsyncDisposable {
  /** URL of the PostgreSQL database; undefined for PGlite. */
  readonly url: string | undefined;
  /** The open database (migrated). */
  readonly db: FreshetDatabase;
  /** Closes the database and removes it (drops the PostgreSQL database or deletes the PGlite directory). */
  dispose(): Promise<void>;
}

/**
 * Opens a fresh, migrated database: on the PostgreSQL of
 * `FRESHET_TEST_DATABASE_URL` when set, otherwise PGlite in a temporary
 * directory.
 *
 * @example
 * ```ts
 * await using t = await createTestDatabase();
 * await t.db.prisma.taskManager.findMany();
 * ```
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'freshet-db-test-'));
  const pgDb = await createTestDatabaseUrl().catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  let db: FreshetDatabase;
  try {
    db = pgDb
      ? await openDatabase({ url: pgDb.url, dataDir })
      : // Still migrates: a no-op check that the image matches the migrations on disk.
        await openPGlite(
          await PGlite.create(join(dataDir, 'pglite'), { loadDataDir: await migratedPGliteImage() }),
          true,
        );
  } catch (error) {
    await pgDb?.dispose();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      try {
        await db.close();
      } finally {
        await pgDb?.dispose();
        await rm(dataDir, { recursive: true, force: true });
      }
    })());
  return { url: pgDb?.url, db, dispose, [Symbol.asyncDispose]: dispose };
}

let pgliteImage: Promise<Blob> | undefined;

// PGlite's initdb costs seconds of CPU; loading a data directory image costs a
// fraction of that. So each test process initializes and migrates one
// in-memory database and starts every PGlite fixture from its image.
function migratedPGliteImage(): Promise<Blob> {
  pgliteImage ??= (async () => {
    const template = await PGlite.create();
    try {
      await applyMigrations(pgliteConnection(template));
      return await template.dumpDataDir('none');
    } finally {
      await template.close();
    }
  })();
  pgliteImage.catch(() => {
    pgliteImage = undefined;
  });
  return pgliteImage;
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
