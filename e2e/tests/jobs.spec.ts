import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const fixture = (name: string): string => join(repoRoot, 'e2e', 'fixtures', name);

/** A job runs for seconds; its state changes arrive by subscription. */
const JOB_TIMEOUT = 60_000;

/** Reads a compact count as the graph shows it (`980`, `12.3k`, `4.1M`). */
function parseCount(text: string): number {
  const m = /([\d.]+)\s*([kMG]?)/.exec(text.trim());
  if (!m) return NaN;
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G'];
  return Number(m[1]) * scale;
}

async function recordsOf(node: Locator): Promise<number> {
  const text = await node.getByTestId('vertex-records-out').textContent();
  return parseCount(text ?? '');
}

/** Uploads `file` through the Submit page's file input and waits until it compiled. */
async function uploadProgram(page: Page, webUrl: string, file: string): Promise<void> {
  await page.goto(`${webUrl}/submit`);
  await expect(page.getByRole('heading', { level: 1, name: 'Submit a program' })).toBeVisible();
  await page.getByLabel('Program file').setInputFiles(file);
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
}

test('upload a bounded program, see its plan, run it and watch it finish', async ({ page, cluster }) => {
  await uploadProgram(page, cluster.webUrl, fixture('bounded-sequence.ts'));
  await page.getByRole('textbox', { name: 'Arguments' }).fill('--count 4000 --rate 500');
  await page.getByRole('spinbutton', { name: 'Parallelism' }).fill('2');

  // The optimized JobGraph before anything runs: source+map chained, HASH, reduce+sink chained.
  await page.getByRole('button', { name: 'Show plan' }).click();
  const plan = page.getByRole('group', { name: 'Optimized JobGraph of the program' });
  await expect(plan.getByTestId('vertex-node')).toHaveCount(2, { timeout: 30_000 });
  await expect(plan.getByTestId('edge-label')).toHaveText(['HASH']);
  await expect(plan.getByTestId('vertex-node').first()).toContainText('numbers');
  await expect(plan.getByTestId('vertex-node').first()).toContainText('square');
  await expect(plan.getByTestId('vertex-node').first()).toContainText('2 subtasks');
  await expect(page.getByTestId('plan-summary')).toContainText('2 vertices');
  await page.screenshot({ path: shot('submit-plan'), fullPage: true });

  // Run: the job page opens and follows the job live.
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 1 })).toContainText('e2e bounded sequence');
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });
  const graph = page.getByRole('group', { name: /JobGraph of/ });
  await expect(graph.getByTestId('vertex-node')).toHaveCount(2);

  // Record counts rise on the graph while it runs (no reload: the page keeps its mark).
  await page.evaluate(() => {
    document.documentElement.dataset.e2eMark = 'job-page';
  });
  const source = graph.getByTestId('vertex-node').first();
  await expect.poll(() => recordsOf(source), { timeout: JOB_TIMEOUT }).toBeGreaterThan(0);
  const first = await recordsOf(source);
  await expect.poll(() => recordsOf(source), { timeout: JOB_TIMEOUT }).toBeGreaterThan(first);
  await page.screenshot({ path: shot('job-running'), fullPage: true });

  // A vertex opens its subtasks.
  await source.getByRole('button').click();
  const subtasks = page.getByTestId('subtasks');
  await expect(subtasks.getByTestId('subtask-row')).toHaveCount(2);
  await page.screenshot({ path: shot('job-subtasks'), fullPage: true });

  await expect(status).toHaveText('FINISHED', { timeout: JOB_TIMEOUT });
  // Every number went through the source.
  await expect.poll(() => recordsOf(source), { timeout: 15_000 }).toBeGreaterThanOrEqual(4000);
  await page.getByRole('tab', { name: /Timeline/ }).click();
  await expect(page.getByTestId('timeline-event').first()).toBeVisible();
  // Full-page screenshots of a scrolled page draw the sticky header mid-page.
  await page.evaluate(() => {
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: shot('job-finished'), fullPage: true });
  expect(await page.evaluate(() => document.documentElement.dataset.e2eMark)).toBe('job-page');

  // The Jobs page lists it as FINISHED, and the filter finds it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
  const row = page.getByTestId('job-row').filter({ hasText: 'e2e bounded sequence' });
  await expect(row.getByTestId('job-status')).toHaveText('FINISHED');
  await page.getByLabel('Status').selectOption('FINISHED');
  await expect(page.getByTestId('job-row').first()).toHaveAttribute('data-status', 'FINISHED');
  await page.screenshot({ path: shot('jobs'), fullPage: true });

  // The Overview counts it and charts the cluster's throughput.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByTestId('jobs-FINISHED')).not.toContainText('FINISHED 0');
  await expect(page.getByRole('img', { name: /^Cluster throughput, records per second/ })).toBeVisible();
  await page.screenshot({ path: shot('overview-jobs'), fullPage: true });
});

test('a program with a syntax error shows the error with its line and code frame', async ({
  page,
  cluster,
  consoleErrors,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  const source = [
    "import { defineProgram } from '@freshet/api';",
    '',
    'export default defineProgram((env) => {',
    '  env',
    '    .fromSequence(1, 10)',
    '    .map((n: number) => n * 2',
    '    .discard();',
    '});',
    '',
  ].join('\n');
  await page.getByLabel('Program file').setInputFiles({
    name: 'broken.ts',
    mimeType: 'text/typescript',
    buffer: Buffer.from(source),
  });
  const diagnostics = page.getByRole('alert').filter({ hasText: 'does not compile' });
  await expect(diagnostics).toBeVisible({ timeout: 30_000 });
  const first = diagnostics.getByTestId('diagnostic').first();
  await expect(first).toContainText(/broken\.ts:7:\d+/);
  await expect(first.locator('pre')).toContainText('> 7 |');
  await expect(first.locator('pre')).toContainText('^');
  await expect(page.getByRole('button', { name: 'Run' })).toBeDisabled();
  await page.screenshot({ path: shot('submit-error'), fullPage: true });

  // Not a program at all: said so before anything is sent.
  await page.getByLabel('Program file').setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('hello'),
  });
  await expect(page.getByRole('alert').filter({ hasText: 'The upload failed' })).toContainText(
    'notes.txt is not a program',
  );

  // The browser rightly logs the JobManager's 400 answer to the broken upload; nothing else may fail.
  const unexpected = consoleErrors.filter(
    (e) => !/Failed to load resource: .* 400 .*\/trpc\/artifacts\.upload/.test(e),
  );
  consoleErrors.length = 0;
  expect(unexpected).toEqual([]);
});

test('cancel a running job from its page', async ({ page, cluster }) => {
  await uploadProgram(page, cluster.webUrl, fixture('unbounded-generator.ts'));
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  // The confirmation dialog: keeping it running changes nothing.
  await page.getByRole('button', { name: 'Cancel job' }).click();
  const dialog = page.getByRole('dialog', { name: /Cancel e2e unbounded generator/ });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Keep running' })).toBeFocused();
  await page.screenshot({ path: shot('job-cancel-dialog'), fullPage: true });
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(status).toHaveText('RUNNING');

  await page.getByRole('button', { name: 'Cancel job' }).click();
  await dialog.getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.screenshot({ path: shot('job-canceled-dark'), fullPage: true });
});

test('a TaskManager page shows its resources and health charts', async ({ page, cluster }) => {
  await page.goto(`${cluster.webUrl}/taskmanagers`);
  const live = page.locator('[data-testid="taskmanager-row"][data-status="OK"]').first();
  await live.getByRole('link').click();
  await expect(page).toHaveURL(/\/taskmanagers\/[^/]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('TaskManager');
  await expect(page.getByRole('heading', { level: 1 }).getByText('OK', { exact: true })).toBeVisible();
  await expect(page.getByRole('region', { name: 'CPU', exact: true })).toBeVisible();
  await expect(page.getByRole('img', { name: /^CPU, share of one core/ })).toBeVisible({ timeout: 15_000 });
  await page.screenshot({ path: shot('taskmanager'), fullPage: true });
});
