/**
 * Watching a running job: the Backpressure and Watermarks views of a vertex
 * (per subtask), and the Metrics tab with the job's accumulators and its
 * functions' user metrics.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

/** Submits e2e/fixtures/metered.ts at parallelism 2 and waits until it runs. */
async function runMetered(page: Page, webUrl: string): Promise<void> {
  await page.goto(`${webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'metered.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('spinbutton', { name: 'Parallelism' }).fill('2');
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 1 }).getByTestId('job-status')).toHaveText('RUNNING', {
    timeout: JOB_TIMEOUT,
  });
}

async function cancel(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(page.getByRole('heading', { level: 1 }).getByTestId('job-status')).toHaveText('CANCELED', {
    timeout: JOB_TIMEOUT,
  });
}

const percent = async (text: Promise<string | null>): Promise<number> =>
  Number((await text)?.replace('%', ''));

test('a vertex shows backpressure and watermarks per subtask', async ({ page, cluster }) => {
  await runMetered(page, cluster.webUrl);
  const graph = page.getByRole('group', { name: /JobGraph of/ });
  await expect(graph.getByTestId('vertex-node')).toHaveCount(2);

  // The source offers far more than the slow lookup takes: both source subtasks are backpressured.
  await graph.getByTestId('vertex-node').filter({ hasText: 'events' }).getByRole('button').click();
  const health = page.getByTestId('vertex-health');
  const rows = health.getByTestId('backpressure-row');
  await expect(rows).toHaveCount(2);
  await expect(health.locator('[data-testid="backpressure-row"][data-level="HIGH"]')).toHaveCount(2, {
    timeout: 30_000,
  });
  for (const row of await rows.all()) {
    await expect(row.getByRole('cell').first()).toHaveText('HIGH');
    const busy = await percent(row.getByTestId('busy').textContent());
    const bp = await percent(row.getByTestId('backpressured').textContent());
    const idle = await percent(row.getByTestId('idle').textContent());
    expect(bp).toBeGreaterThan(50);
    // The three shares are the subtask's whole time (each rounded to a whole percent).
    expect(Math.abs(busy + bp + idle - 100)).toBeLessThanOrEqual(2);
    await expect(row.getByRole('img', { name: /busy \d+%, backpressured \d+%, idle \d+%/ })).toBeVisible();
  }
  // The history chart fills in, one line per subtask.
  const chart = health.getByRole('img', {
    name: /Backpressured share of time per subtask: latest subtask 0 \d+%, subtask 1 \d+%/,
  });
  await expect(chart).toBeVisible({ timeout: 15_000 });
  await page.screenshot({ path: shot('vertex-backpressure'), fullPage: true });

  // Watermarks are input watermarks: the source has none (its assigner is chained after it)…
  await health.getByRole('button', { name: 'Watermarks' }).click();
  const wm = health.getByTestId('watermark-row');
  await expect(wm).toHaveCount(2);
  await expect(wm.first().getByTestId('watermark')).toHaveText('–');

  // …the slow lookup behind the exchange has them: wall-clock stamps, 200 ms out of orderness, and their lag.
  await graph.getByTestId('vertex-node').filter({ hasText: 'slow lookup' }).getByRole('button').click();
  await expect(page.getByTestId('subtasks')).toContainText('Subtasks of slow lookup');
  await expect(wm).toHaveCount(2);
  for (const row of await wm.all()) {
    await expect(row.getByTestId('watermark')).toHaveText(/^\d\d:\d\d:\d\d\.\d{3}$/, { timeout: 30_000 });
    await expect(row.getByTestId('watermark-lag')).toHaveText(/^\d+ ms$|^\d+\.\d s$|^\d+m \d+s$/);
  }
  const lagText = (await wm.first().getByTestId('watermark-lag').textContent()) ?? '';
  const lagMs = lagText.endsWith(' ms') ? Number(lagText.slice(0, -3)) : Number(lagText.slice(0, -2)) * 1000;
  // At least the out-of-orderness bound (the records queue behind the slow lookup, so it grows).
  expect(lagMs).toBeGreaterThanOrEqual(200);
  await expect(
    health.getByRole('img', { name: /Watermark lag to wall clock per subtask: latest subtask 0 / }),
  ).toBeVisible({ timeout: 15_000 });
  await page.screenshot({ path: shot('vertex-watermarks'), fullPage: true });

  // Its view keeps the Backpressure choice per page, and lists both subtasks.
  await health.getByRole('button', { name: 'Backpressure' }).click();
  await expect(health.getByTestId('backpressure-row')).toHaveCount(2);
  await cancel(page);
});

test('the Metrics tab shows the accumulators and the user metrics of every subtask, live', async ({
  page,
  cluster,
}) => {
  await runMetered(page, cluster.webUrl);
  await page.getByRole('tab', { name: 'Metrics' }).click();
  const tab = page.getByTestId('job-metrics');

  // Accumulators, merged over both subtasks: a count that grows, and a histogram of parities.
  const events = tab
    .getByTestId('accumulator-row')
    .filter({ hasText: 'events' })
    .getByTestId('accumulator-value');
  const count = async (): Promise<number> => Number((await events.textContent())?.replaceAll(',', ''));
  await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(0);
  const first = await count();
  await expect.poll(count, { timeout: 15_000 }).toBeGreaterThan(first);
  await expect(
    tab.getByTestId('accumulator-row').filter({ hasText: 'parity' }).getByTestId('accumulator-value'),
  ).toHaveText(/^0: [\d,]+ · 1: [\d,]+$/);

  // User metrics: each of the four kinds, on each of the two subtasks.
  for (const name of ['scored', 'lastIndex', 'scoring', 'sizes.digits']) {
    const rows = tab.locator(`[data-testid="user-metric-row"][data-metric="${name}"]`);
    await expect(rows).toHaveCount(2);
    await expect(rows.first()).toContainText('score');
  }
  await expect(
    tab
      .locator('[data-testid="user-metric-row"][data-metric="scored"]')
      .first()
      .getByTestId('user-metric-value'),
  ).toHaveText(/^[\d,]+$/);
  await expect(
    tab
      .locator('[data-testid="user-metric-row"][data-metric="scoring"]')
      .first()
      .getByTestId('user-metric-value'),
  ).toHaveText(/^[\d,]+ events · [\d.k]+\/s$/);
  await expect(
    tab
      .locator('[data-testid="user-metric-row"][data-metric="sizes.digits"]')
      .first()
      .getByTestId('user-metric-value'),
  ).toHaveText(/^n [\d.k]+ · min \d · p50 \d · p95 \d · p99 \d · max \d$/);
  await page.screenshot({ path: shot('job-metrics'), fullPage: true });

  // Ended, the job keeps its final accumulators.
  await cancel(page);
  await page.reload();
  await page.getByRole('tab', { name: 'Metrics' }).click();
  await expect.poll(count).toBeGreaterThan(first);
});
