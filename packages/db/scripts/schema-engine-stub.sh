#!/bin/sh
# Stand-in for the native Prisma schema engine, which cannot be downloaded on
# our machines. `prisma generate` only checks that the binary exists; it never
# runs it. See scripts/generate.mjs.
echo "schema-engine stub: the native Prisma schema engine is not installed; migrations are applied by @freshet/db (src/migrate.ts)" >&2
exit 1
