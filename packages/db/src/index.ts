/**
 * Freshet's metadata database: the Prisma client (over embedded PGlite or
 * PostgreSQL), its generated model types and enums, and the migration runner.
 * Apps import the Prisma types from here, never from the generated folder.
 *
 * @packageDocumentation
 */
export { openDatabase, type DatabaseKind, type FreshetDatabase, type OpenDatabaseOptions } from './open.js';
export {
  applyMigrations,
  defaultMigrationsDir,
  migratePostgres,
  migrationChecksum,
  readMigrations,
  MigrationError,
  MIGRATION_LOCK_KEY,
  type Migration,
  type MigrateOptions,
  type MigrateResult,
} from './migrate.js';
export { pgConnection, pgliteConnection, type SqlConnection } from './connection.js';
export * from './generated/prisma/client.js';
