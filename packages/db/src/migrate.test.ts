import { mkdtemp, mkdir, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgConnection, pgliteConnection, type SqlConnection } from './connection.js';
import {
  applyMigrations,
  defaultMigrationsDir,
  migratePostgres,
  migrationChecksum,
  MigrationError,
  readMigrations,
} from './migrate.js';
import { createTestDatabaseUrl, testPostgresAdminUrl } from './testing.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

describe('migrations on disk', () => {
  it('are read in name order with sha256 checksums of the exact file bytes', async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.name)).toEqual([...migrations.map((m) => m.name)].sort());
    const first = migrations[0]!;
    const bytes = await readFile(join(defaultMigrationsDir, first.name, 'migration.sql'));
    expect(first.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(first.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(join(defaultMigrationsDir, 'migration_lock.toml'), 'utf8')).toContain(
      'provider = "postgresql"',
    );
  });
});

describe('applyMigrations on PGlite', () => {
  let db: PGlite;
  let conn: SqlConnection;
  let dir: string;
  beforeAll(async () => {
    db = await PGlite.create();
    conn = pgliteConnection(db);
    dir = await mkdtemp(join(tmpdir(), 'freshet-migrations-'));
    await cp(defaultMigrationsDir, dir, { recursive: true });
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies every migration once, records it as Prisma does, and then applies nothing', async () => {
    const known = (await readMigrations(dir)).map((m) => m.name);
    expect(await applyMigrations(conn, { migrationsDir: dir })).toEqual({ applied: known, known });
    expect(await applyMigrations(conn, { migrationsDir: dir })).toEqual({ applied: [], known });

    const rows = await conn.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
      logs: string | null;
      rolled_back_at: Date | null;
      id: string;
    }>('SELECT * FROM "_prisma_migrations" ORDER BY started_at');
    const onDisk = await readMigrations(dir);
    expect(
      rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count, r.logs, r.rolled_back_at]),
    ).toEqual(onDisk.map((m) => [m.name, migrationChecksum(m.sql), 1, null, null]));
    expect(rows.every((r) => r.finished_at instanceof Date && /^[0-9a-f-]{36}$/.test(r.id))).toBe(true);
  });

  it('rolls a failing migration back entirely and records nothing for it', async () => {
    await mkdir(join(dir, '29990101000000_broken'));
    await writeFile(
      join(dir, '29990101000000_broken', 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
    );
    try {
      const error = await applyMigrations(conn, { migrationsDir: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migration).toBe('29990101000000_broken');
      expect((error as Error).message).toMatch(
        /29990101000000_broken failed and was rolled back: .*no_such_table/,
      );
      expect(await conn.query("SELECT 1 FROM pg_class WHERE relname = 'half_done'")).toEqual([]);
      expect(
        await conn.query(`SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`),
      ).toEqual([]);
      // The lock was released: the next run proceeds (and fails the same way rather than hanging).
      await expect(applyMigrations(conn, { migrationsDir: dir })).rejects.toThrow(MigrationError);
    } finally {
      await rm(join(dir, '29990101000000_broken'), { recursive: true });
    }
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const [first] = await readMigrations(dir);
    await writeFile(join(dir, first!.name, 'migration.sql'), first!.sql + '\n-- edited\n');
    try {
      await expect(applyMigrations(conn, { migrationsDir: dir })).rejects.toThrow(
        new RegExp(`Migration ${first!.name} was changed after it was applied`),
      );
    } finally {
      await writeFile(join(dir, first!.name, 'migration.sql'), first!.sql);
    }
  });

  it('refuses to run over a migration Prisma recorded as failed', async () => {
    await conn.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('00000000-0000-0000-0000-000000000000', 'x', '20000101000000_failed', now() + interval '1 day', 0)`,
    );
    try {
      await expect(applyMigrations(conn, { migrationsDir: dir })).rejects.toThrow(
        /20000101000000_failed is recorded as started but not finished/,
      );
    } finally {
      await conn.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = '20000101000000_failed'`);
    }
  });
});

describe.skipIf(!testPostgresAdminUrl())('applyMigrations on PostgreSQL', () => {
  it('two concurrent migrators both succeed and exactly one applies the migrations', async () => {
    await using target = (await createTestDatabaseUrl())!;
    const known = (await readMigrations()).map((m) => m.name);
    const [a, b] = await Promise.all([migratePostgres(target.url), migratePostgres(target.url)]);
    expect([a.applied, b.applied].sort((x, y) => y.length - x.length)).toEqual([known, []]);

    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      const rows = await pgConnection(client).query<{ migration_name: string; checksum: string }>(
        'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows).toEqual(
        (await readMigrations()).map((m) => ({ migration_name: m.name, checksum: m.checksum })),
      );
      expect(await migratePostgres(target.url)).toEqual({ applied: [], known });
    } finally {
      await client.end();
    }
  });
});
