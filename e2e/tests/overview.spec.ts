/**
 * The overview's job tables, as on Flink's front page: a running job is
 * listed with its sources' rate (each record counted once, as the cluster
 * throughput counts it), a failed and a cancelled job among the recently
 * ended ones (the most recently ended first), and each row links to its job.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const fixture = (name: string): string => join(repoRoot, 'e2e', 'fixtures', name);
const JOB_TIMEOUT = 60_000;

/** Submits a fixture at parallelism 1; resolves with the new job's id once its page shows. */
async function submit(page: Page, webUrl: string, file: string): Promise<string> {
  await page.goto(`${webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(fixture(file));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('spinbutton', { name: 'Parallelism' }).fill('1');
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  return decodeURIComponent(page.url().split('/').pop()!);
}

/** Reads a rate as the dashboard shows it (`50`, `1.2k`). */
function parseRate(text: string | null): number {
  const m = /([\d.]+)\s*([kM]?)/.exec(text ?? '');
  return m ? Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1) : NaN;
}

test('the overview lists running jobs with their rate and recently ended ones, each linking to its job', async ({
  page,
  cluster,
}) => {
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  const failed = await submit(page, cluster.webUrl, 'fails.ts');
  await expect(status).toHaveText('FAILED', { timeout: JOB_TIMEOUT });
  // The ticker emits 50 records a second until it is cancelled.
  const ticker = await submit(page, cluster.webUrl, 'ticker.ts');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  const running = page.getByTestId('overview-running');
  const ended = page.getByTestId('overview-ended');
  const tickerRow = running.locator(`[data-job-id="${ticker}"]`);
  await expect(tickerRow).toHaveAttribute('data-status', 'RUNNING');
  await expect(tickerRow.getByRole('rowheader')).toHaveText('e2e ticker');
  await expect(tickerRow.locator('code')).toHaveText(ticker.slice(0, 8));
  await expect(tickerRow).toContainText('1/1'); // its one subtask runs
  await expect
    .poll(async () => parseRate(await tickerRow.getByTestId('overview-job-rate').textContent()), {
      timeout: 30_000,
    })
    .toBeGreaterThan(35);
  expect(parseRate(await tickerRow.getByTestId('overview-job-rate').textContent())).toBeLessThan(70);
  // The cluster's throughput counts the same records once: at least the ticker's (other tests' jobs may run).
  expect(parseRate(await page.getByTestId('throughput-now').textContent())).toBeGreaterThan(35);
  // Only jobs that have not ended are in the running table; the failed one is among the ended.
  await expect(
    running.getByTestId('overview-running-job').and(page.locator('[data-status="FAILED"]')),
  ).toHaveCount(0);
  const failedRow = ended.locator(`[data-job-id="${failed}"]`);
  await expect(failedRow).toHaveAttribute('data-status', 'FAILED');
  await expect(failedRow.getByRole('rowheader')).toHaveText('e2e fails');
  await page.screenshot({ path: shot('overview-jobs'), fullPage: true });

  // A row opens its job.
  await tickerRow.getByRole('link', { name: 'e2e ticker' }).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${ticker}$`));
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });

  // Cancelled, it leaves the running table and heads the ended one (the most recently ended first).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(running.locator(`[data-job-id="${ticker}"]`)).toHaveCount(0);
  const first = ended.getByTestId('overview-ended-job').first();
  await expect(first).toHaveAttribute('data-job-id', ticker);
  await expect(first).toHaveAttribute('data-status', 'CANCELED');
  await expect(ended.locator(`[data-job-id="${failed}"]`)).toHaveCount(1);
  await page.screenshot({ path: shot('overview-jobs-ended'), fullPage: true });
  await ended.locator(`[data-job-id="${failed}"]`).getByRole('link', { name: 'e2e fails' }).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${failed}$`));
  await expect(status).toHaveText('FAILED');
});
