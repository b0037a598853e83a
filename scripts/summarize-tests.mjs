#!/usr/bin/env node
// Summarise a test run from the machine-readable reports under .reports/:
//   vitest.json      Vitest's json reporter
//   playwright.json  Playwright's json reporter
//   runs.json        what scripts/test.mjs ran: exit codes, skips, durations
// Prints failures, then ONE final line: `tests: N passed, N failed[, N skipped]`.
// A runner that crashed (non-zero exit without a report, or a report with
// errors but no failed test) counts as one failure, never as zero tests.
// Exit code: 1 when anything failed, else 0.
//
// Usage: node scripts/summarize-tests.mjs [--reports DIR] [--line-only] [--exit-code N]
//   --exit-code N  exit code of the command that produced the reports (.ci/run
//                  passes npm test's); non-zero with no failure found counts as one.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './lib/workspace.mjs';

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: join(repoRoot, '.reports') },
    'line-only': { type: 'boolean', default: false },
    'exit-code': { type: 'string' },
  },
});
const dir = resolve(values.reports);

function readJson(name) {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return { unreadable: err instanceof Error ? err.message : String(err) };
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
/** @type {string[]} */
const problems = [];
/** @type {string[]} */
const notes = [];

const runsFile = readJson('runs.json');
const runs = runsFile ?? {};
// Without runs.json the test script died before running anything: with an
// --exit-code from the caller, every runner without a report is a failure.
const expectAll = runsFile === undefined && values['exit-code'] !== undefined;

if (runs.build && runs.build.exitCode !== 0) {
  totals.failed += 1;
  problems.push(`build: pnpm turbo run build exited with code ${runs.build.exitCode}`);
}
if (runs.install && runs.install.exitCode !== 0) {
  totals.failed += 1;
  problems.push(`install: pnpm install exited with code ${runs.install.exitCode}`);
}

// ---- Vitest ---------------------------------------------------------------
function summarizeVitest() {
  const run = runs.vitest;
  const report = readJson('vitest.json');
  if (!report || report.unreadable) {
    if (run || expectAll) {
      totals.failed += 1;
      problems.push(
        `vitest: no usable report (${report?.unreadable ?? 'missing .reports/vitest.json'})` +
          (run ? `, exit code ${run.exitCode}` : ''),
      );
    }
    return;
  }
  let failedHere = 0;
  for (const file of report.testResults ?? []) {
    const assertions = file.assertionResults ?? [];
    for (const a of assertions) {
      if (a.status === 'passed') totals.passed += 1;
      else if (a.status === 'failed') {
        totals.failed += 1;
        failedHere += 1;
        problems.push(`vitest: ${a.fullName ?? a.title} (${file.name})`);
      } else totals.skipped += 1; // skipped, pending, todo, disabled
    }
    // A test file that failed to load or whose hooks failed has no failed test.
    if (file.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
      totals.failed += 1;
      failedHere += 1;
      const reason = String(file.message ?? '').split('\n')[0];
      problems.push(`vitest: test file failed: ${file.name}${reason ? ` — ${reason}` : ''}`);
    }
  }
  if (run && run.exitCode !== 0 && failedHere === 0) {
    totals.failed += 1;
    problems.push(
      `vitest: exited with code ${run.exitCode} but reported no failed test (crash or unhandled error)`,
    );
  }
}

// ---- Playwright -----------------------------------------------------------
function* playwrightTests(suite, path = []) {
  const here = suite.title ? [...path, suite.title] : path;
  for (const spec of suite.specs ?? []) {
    for (const test of spec.tests ?? []) yield { title: [...here, spec.title].join(' › '), test };
  }
  for (const child of suite.suites ?? []) yield* playwrightTests(child, here);
}

function summarizePlaywright() {
  const run = runs.playwright;
  if (run?.skipped) {
    totals.skipped += run.count ?? 0;
    notes.push(`browser tests skipped: ${run.skipped}`);
    return;
  }
  const report = readJson('playwright.json');
  if (!report || report.unreadable) {
    if (run || expectAll) {
      totals.failed += 1;
      problems.push(
        `playwright: no usable report (${report?.unreadable ?? 'missing .reports/playwright.json'})` +
          (run ? `, exit code ${run.exitCode}` : ''),
      );
    }
    return;
  }
  let failedHere = 0;
  for (const suite of report.suites ?? []) {
    for (const { title, test } of playwrightTests(suite)) {
      if (test.status === 'expected' || test.status === 'flaky') {
        totals.passed += 1;
        if (test.status === 'flaky') notes.push(`playwright: flaky (passed on retry): ${title}`);
      } else if (test.status === 'skipped') totals.skipped += 1;
      else {
        totals.failed += 1;
        failedHere += 1;
        problems.push(`playwright: ${title}`);
      }
    }
  }
  // Errors outside tests: global setup/teardown failures, config errors.
  const errors = report.errors ?? [];
  for (const e of errors) problems.push(`playwright: ${String(e.message ?? e).split('\n')[0]}`);
  if ((errors.length > 0 || (run && run.exitCode !== 0)) && failedHere === 0) {
    totals.failed += 1;
    if (errors.length === 0)
      problems.push(`playwright: exited with code ${run.exitCode} but reported no failed test`);
  }
}

summarizeVitest();
summarizePlaywright();

const exitCode = values['exit-code'] === undefined ? 0 : Number(values['exit-code']);
if (exitCode !== 0 && totals.failed === 0) {
  totals.failed += 1;
  problems.push(`the test command exited with code ${exitCode} before any runner reported a failure`);
}

if (!values['line-only']) {
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  if (problems.length > 0) {
    process.stdout.write('failures:\n');
    const SHOWN = 40;
    for (const p of problems.slice(0, SHOWN)) process.stdout.write(`  ✗ ${p}\n`);
    if (problems.length > SHOWN)
      process.stdout.write(`  … and ${problems.length - SHOWN} more (see the reports in ${dir})\n`);
  }
  const durations = Object.entries(runs)
    .filter(([, r]) => typeof r?.durationMs === 'number')
    .map(([name, r]) => `${name} ${(r.durationMs / 1000).toFixed(1)}s`);
  if (durations.length > 0) process.stdout.write(`durations: ${durations.join(', ')}\n`);
}
const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
process.stdout.write(`tests: ${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
process.exit(totals.failed > 0 ? 1 : 0);
