// Prisma 7 CLI configuration (the datasource URL moved out of schema.prisma).
//
// No runtime imports: the Prisma CLI is a dependency of packages/db, not of the
// root, so this file must load without resolving `prisma/config` from here.
// Run the CLI through the db package, e.g.
//   pnpm --filter @freshet/db exec prisma migrate deploy --config ../../prisma.config.ts
// `prisma generate` needs no database, so the datasource is only set when
// DATABASE_URL is.
import type { PrismaConfig } from 'prisma';

const url = process.env['DATABASE_URL'];

export default {
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  ...(url ? { datasource: { url } } : {}),
} satisfies PrismaConfig;
