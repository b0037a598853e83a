import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pgliteConnection, type SqlConnection } from './connection.js';
import { actualShape, diffShapes, expectedShape } from './drift.js';
import { createTestDatabase, testPostgresAdminUrl } from './testing.js';
import { applyMigrations } from './migrate.js';
import { PGlite } from '@electric-sql/pglite';
import type { PrismaClient } from './index.js';

const schemaPath = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));

describe(`schema drift (${testPostgresAdminUrl() ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('the migrated database matches schema.prisma: tables, columns, types, nullability, defaults, enums, indexes, foreign keys', async () => {
    const expected = expectedShape(await readFile(schemaPath, 'utf8'));
    await using t = await createTestDatabase();
    const actual = await actualShape(prismaConnection(t.db.prisma));
    expect(diffShapes(expected, actual)).toEqual([]);
    // Guard against a vacuous pass: the comparison saw the whole model.
    expect([...actual.tables.keys()].sort()).toEqual([...expected.tables.keys()].sort());
    expect(expected.tables.get('jobs')?.get('status')).toMatchObject({
      type: 'job_status',
      notNull: true,
      default: "'CREATED'::job_status",
    });
    expect(expected.foreignKeys.size).toBeGreaterThan(5);
  });

  it('reports a column added to schema.prisma without a migration, naming table and column', async () => {
    const source = (await readFile(schemaPath, 'utf8')).replace(
      'failureCause   String?     @map("failure_cause")',
      'failureCause   String?     @map("failure_cause")\n  priority       Int         @default(0)',
    );
    const db = await PGlite.create();
    try {
      await applyMigrations(pgliteConnection(db));
      const diffs = diffShapes(expectedShape(source), await actualShape(pgliteConnection(db)));
      expect(diffs).toEqual([
        'column "jobs"."priority" (Job.priority) is in schema.prisma but missing from the migrated database (add a migration under prisma/migrations)',
      ]);
    } finally {
      await db.close();
    }
  });
});

// Reads the catalog through the test database's own Prisma client, so the same
// code inspects PGlite and PostgreSQL.
function prismaConnection(prisma: PrismaClient): SqlConnection {
  return {
    query: <Row extends object>(sql: string, params: readonly unknown[] = []) =>
      prisma.$queryRawUnsafe<Row[]>(sql, ...params),
    exec: async (script: string) => {
      await prisma.$executeRawUnsafe(script);
    },
  };
}
