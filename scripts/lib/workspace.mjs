// Shared helpers for scripts/start.mjs and scripts/test.mjs. Node built-ins only:
// these run on a fresh machine that has nothing but Node 20 and npm.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const INSTALL_STAMP = join(repoRoot, 'node_modules', '.freshet-install-stamp');

/** The pnpm version pinned by the root package.json's `packageManager` field. */
export function pinnedPnpmVersion() {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(pkg.packageManager ?? '');
  return match ? match[1] : '10.34.9';
}

/**
 * The command that runs pnpm: a global `pnpm` of the pinned major version when
 * there is one, otherwise `npx -y pnpm@<pinned>`.
 * @returns {string[]} argv prefix
 */
export function findPnpm() {
  const pinned = pinnedPnpmVersion();
  const probe = spawnSync('pnpm', ['--version'], {
    encoding: 'utf8',
    env: { ...process.env, COREPACK_ENABLE_STRICT: '0' },
  });
  const found = probe.status === 0 ? probe.stdout.trim() : '';
  if (found && found.split('.')[0] === pinned.split('.')[0]) return ['pnpm'];
  log(
    `pnpm ${pinned.split('.')[0]}.x not found on PATH${found ? ` (found ${found})` : ''}; using npx -y pnpm@${pinned}`,
  );
  return ['npx', '-y', `pnpm@${pinned}`];
}

/** Print a line from the orchestration script itself. */
export function log(message) {
  process.stdout.write(`[freshet] ${message}\n`);
}

/**
 * Run a command in the foreground with inherited stdio.
 * @returns {Promise<number>} exit code (signals map to 128+n style non-zero codes)
 */
export function run(argv, { cwd = repoRoot, env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: 'inherit' });
    child.on('error', (err) => {
      log(`could not run ${argv[0]}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 1)));
  });
}

/** Environment for pnpm/turbo runs: never download Playwright browsers, no telemetry prompts. */
export function toolEnv(extra = {}) {
  return {
    ...process.env,
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
    TURBO_TELEMETRY_DISABLED: '1',
    NEXT_TELEMETRY_DISABLED: '1',
    COREPACK_ENABLE_STRICT: '0',
    ...extra,
  };
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * `pnpm install --frozen-lockfile` when node_modules is missing or older than
 * pnpm-lock.yaml. A stamp file records the last successful install, because
 * pnpm does not touch node_modules when nothing changed.
 * @returns {Promise<number>} exit code (0 when no install was needed)
 */
export async function ensureInstalled(pnpm) {
  const lock = mtime(join(repoRoot, 'pnpm-lock.yaml'));
  const installed = Math.max(mtime(INSTALL_STAMP), mtime(join(repoRoot, 'node_modules', '.modules.yaml')));
  if (existsSync(join(repoRoot, 'node_modules')) && installed >= lock) return 0;
  log('installing dependencies (pnpm install --frozen-lockfile)');
  const code = await run([...pnpm, 'install', '--frozen-lockfile'], { env: toolEnv() });
  if (code === 0) writeFileSync(INSTALL_STAMP, `${new Date().toISOString()}\n`);
  return code;
}

/**
 * `pnpm turbo run build --continue`: turbo's cache makes this quick when
 * nothing changed; `--continue` builds every package that can be built even if
 * one fails, so a broken package does not hide the others.
 * @returns {Promise<number>} exit code
 */
export function buildAll(pnpm, { quiet = false } = {}) {
  log('building (pnpm turbo run build)');
  const args = [...pnpm, 'turbo', 'run', 'build', '--continue'];
  if (quiet) args.push('--output-logs=errors-only');
  return run(args, { env: toolEnv() });
}

/** Format milliseconds as seconds with one decimal. */
export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}
