import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { pgliteConnection } from './connection.js';
import { PrismaClient } from './generated/prisma/client.js';
import { applyMigrations, migratePostgres, type MigrateResult } from './migrate.js';

/** Which database a {@link FreshetDatabase} talks to. */
export type DatabaseKind = 'pglite' | 'postgres';

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * PostgreSQL connection URL. Without it, an embedded PGlite database is used.
   * @default undefined
   */
  readonly url?: string | undefined;
  /** Freshet's data directory; the embedded database lives in `<dataDir>/pglite`. */
  readonly dataDir: string;
  /**
   * Apply pending migrations before returning.
   * @default true
   */
  readonly migrate?: boolean;
}

/** An open metadata database. Close it (or `await using` it) when done. */
export interface FreshetDatabase extends AsyncDisposable {
  /** The Prisma client, connected through the driver adapter for {@link kind}. */
  readonly prisma: PrismaClient;
  /** Embedded PGlite or a PostgreSQL server. */
  readonly kind: DatabaseKind;
  /** What the start-up migration did (`applied` is empty when `migrate` was false). */
  readonly migrations: MigrateResult;
  /** Disconnects Prisma and, for PGlite, shuts the embedded database down. */
  close(): Promise<void>;
}

/**
 * Opens the metadata database: PostgreSQL through `@prisma/adapter-pg` when `url`
 * is given, otherwise PGlite persisted under `<dataDir>/pglite`. Applies pending
 * migrations first unless `migrate` is false.
 *
 * PGlite is a single in-process session: only one process may open a given
 * data directory at a time.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<FreshetDatabase> {
  const migrate = options.migrate ?? true;

  if (options.url) {
    const migrations = migrate ? await migratePostgres(options.url) : { applied: [], known: [] };
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: options.url }) });
    return database(prisma, 'postgres', migrations, () => prisma.$disconnect());
  }

  const dir = join(options.dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  return openPGlite(await PGlite.create(dir), migrate);
}

/**
 * Wraps an already created PGlite instance (taking ownership: closing the
 * result closes it). Internal: the test fixtures use it to start from a
 * pre-migrated data directory image.
 */
export async function openPGlite(pglite: PGlite, migrate: boolean): Promise<FreshetDatabase> {
  let migrations: MigrateResult = { applied: [], known: [] };
  try {
    if (migrate) migrations = await applyMigrations(pgliteConnection(pglite));
  } catch (error) {
    await pglite.close();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return database(prisma, 'pglite', migrations, async () => {
    await prisma.$disconnect();
    await pglite.close();
  });
}

function database(
  prisma: PrismaClient,
  kind: DatabaseKind,
  migrations: MigrateResult,
  shutdown: () => Promise<void>,
): FreshetDatabase {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutdown());
  return { prisma, kind, migrations, close, [Symbol.asyncDispose]: close };
}
