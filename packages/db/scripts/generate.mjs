// Runs `prisma generate` for the root prisma/schema.prisma.
//
// Why the stub: the Prisma 7 CLI resolves the native schema-engine binary at
// start-up, even for `generate`, which itself only uses the wasm schema parser
// and the TypeScript generator. The binary is downloaded from Prisma's CDN at
// install time, which is unreachable on our machines, so the CLI would refuse to
// run. Pointing PRISMA_SCHEMA_ENGINE_BINARY at an existing (never executed) stub
// file satisfies that check. We do this only for `generate`: migrations are
// applied by our own runner (src/migrate.ts), never by the CLI here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const rootDir = join(pkgDir, '..', '..');
const stub = join(pkgDir, 'scripts', 'schema-engine-stub.sh');

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
// No telemetry or update checks from build machines.
env.CHECKPOINT_DISABLE = '1';
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';

const result = spawnSync(
  process.execPath,
  [
    join(pkgDir, 'node_modules', 'prisma', 'build', 'index.js'),
    'generate',
    '--config',
    join(rootDir, 'prisma.config.ts'),
  ],
  { cwd: rootDir, env, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
