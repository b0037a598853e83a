#!/usr/bin/env node
// `npm test`: install, build, run every Vitest project, then the Playwright
// browser suite against a real local cluster, and print
// `tests: N passed, N failed[, N skipped]` (from scripts/summarize-tests.mjs).
// Reports land in .reports/ (vitest.json, playwright.json, runs.json).
//
// Env: FRESHET_TEST_SKIP_E2E=1 skips the browser suite; FRESHET_TEST_NO_SUMMARY=1
// leaves the summary line to the caller (.ci/run prints it last).
//
// Node built-ins only: this must run on a machine with nothing but Node and npm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildAll,
  ensureInstalled,
  findPnpm,
  log,
  repoRoot,
  run,
  seconds,
  toolEnv,
} from './lib/workspace.mjs';

const CHROMIUM = '/usr/bin/chromium';
const reports = join(repoRoot, '.reports');
/** @type {Record<string, unknown>} */
const runs = {};

function saveRuns() {
  writeFileSync(join(reports, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
}

async function timed(name, fn) {
  const started = Date.now();
  const exitCode = await fn();
  runs[name] = { exitCode, durationMs: Date.now() - started };
  saveRuns();
  log(`${name} finished in ${seconds(Date.now() - started)} (exit code ${exitCode})`);
  return exitCode;
}

/** Make sure Debian's Chromium is present; install it when running as root. */
function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) return false;
  log(`${CHROMIUM} is missing; installing Debian's chromium (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
  return existsSync(CHROMIUM);
}

/** How many browser tests exist, for reporting them as skipped. */
function countBrowserTests(pnpm) {
  const listed = spawnSync(
    pnpm[0],
    [
      ...pnpm.slice(1),
      'exec',
      'playwright',
      'test',
      '--config',
      'e2e/playwright.config.ts',
      '--list',
      '--reporter=json',
    ],
    {
      cwd: repoRoot,
      env: toolEnv({ FRESHET_E2E_LIST_ONLY: '1' }),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  try {
    const report = JSON.parse(listed.stdout);
    let count = 0;
    const walk = (suite) => {
      for (const spec of suite.specs ?? []) count += (spec.tests ?? []).length;
      for (const child of suite.suites ?? []) walk(child);
    };
    for (const suite of report.suites ?? []) walk(suite);
    return count;
  } catch {
    return 0;
  }
}

async function main() {
  mkdirSync(reports, { recursive: true });
  for (const name of ['vitest.json', 'playwright.json', 'runs.json'])
    rmSync(join(reports, name), { force: true });
  saveRuns();

  const pnpm = findPnpm();
  const install = await timed('install', () => ensureInstalled(pnpm));
  if (install !== 0) {
    log('pnpm install failed; cannot run tests');
    return summarize();
  }
  await timed('build', () => buildAll(pnpm, { quiet: true }));

  await timed('vitest', () =>
    run(
      [
        ...pnpm,
        'exec',
        'vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${join(reports, 'vitest.json')}`,
      ],
      { env: toolEnv() },
    ),
  );

  if (process.env.FRESHET_TEST_SKIP_E2E === '1') {
    runs.playwright = { skipped: 'FRESHET_TEST_SKIP_E2E=1', count: countBrowserTests(pnpm) };
    saveRuns();
  } else if (!ensureChromium()) {
    const reason = `${CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium)`;
    log(`browser tests SKIPPED: ${reason}`);
    runs.playwright = { skipped: reason, count: countBrowserTests(pnpm) };
    saveRuns();
  } else {
    await timed('playwright', () =>
      run([...pnpm, 'exec', 'playwright', 'test', '--config', 'e2e/playwright.config.ts'], {
        env: toolEnv({ FRESHET_REPORTS_DIR: reports }),
      }),
    );
  }
  return summarize();
}

function summarize() {
  const args = [join(repoRoot, 'scripts/summarize-tests.mjs')];
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  const lines = result.stdout.trimEnd().split('\n');
  const summaryLine = lines.pop();
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  if (process.env.FRESHET_TEST_NO_SUMMARY !== '1') process.stdout.write(`${summaryLine}\n`);
  process.exit(result.status ?? 1);
}

main().catch((err) => {
  log(`test run failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
