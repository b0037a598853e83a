/**
 * The savepoint buttons of a running job's page: Savepoint (the job goes
 * on; its path shows), Stop with savepoint (the job ends FINISHED), a new
 * job started from that savepoint through the Submit page, and Rescale
 * from parallelism 1 to 2 (a link to the new job, which runs at 2).
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
/** The ticker runs until it is stopped: 50 records a second. */
const TICKER = join(repoRoot, 'e2e', 'fixtures', 'ticker.ts');
const JOB_TIMEOUT = 60_000;
/** A savepoint, a stop or a rescale: a checkpoint round and the job's end (and a new job's start). */
const ACTION_TIMEOUT = 60_000;

/** Uploads the ticker, optionally fills the savepoint fields, runs it and waits until it runs. */
async function runTicker(
  page: Page,
  webUrl: string,
  options: { parallelism?: number; savepointPath?: string } = {},
): Promise<void> {
  await page.goto(`${webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(TICKER);
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  if (options.parallelism !== undefined) {
    await page.getByRole('spinbutton', { name: 'Parallelism' }).fill(String(options.parallelism));
  }
  if (options.savepointPath !== undefined) {
    await page.getByLabel('Start from savepoint').fill(options.savepointPath);
    await page.getByRole('switch', { name: 'Allow non-restored state' }).check();
    await page.screenshot({ path: shot('submit-from-savepoint'), fullPage: true });
  }
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 1 }).getByTestId('job-status')).toHaveText('RUNNING', {
    timeout: JOB_TIMEOUT,
  });
}

test('savepoint a running job, stop it with a savepoint and start a new job from it', async ({
  page,
  cluster,
}) => {
  await runTicker(page, cluster.webUrl);
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');

  // A savepoint: confirmed, and the job goes on; its directory shows.
  await page.getByTestId('savepoint-button').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Take savepoint' }).click();
  const savepoint = page.getByTestId('savepoint-result');
  await expect(savepoint).toContainText(/Savepoint \d+ written to .*savepoints\/savepoint-/, {
    timeout: ACTION_TIMEOUT,
  });
  await expect(status).toHaveText('RUNNING');
  await page.screenshot({ path: shot('job-savepoint'), fullPage: true });
  // A savepoint is one of the job's checkpoints: the Checkpoints tab lists it, marked as a savepoint with its path.
  const savepointId = /Savepoint (\d+)/.exec((await savepoint.textContent()) ?? '')?.[1];
  const savepointPath = (await savepoint.locator('code').textContent())?.trim() ?? '';
  expect(savepointPath).toMatch(/savepoints\/savepoint-/);
  await page.getByRole('tab', { name: 'Checkpoints' }).click();
  const savepointRow = page
    .getByTestId('checkpoint-row')
    .filter({ has: page.locator('th').filter({ hasText: new RegExp(`^${savepointId ?? 'none'}$`) }) });
  await expect(savepointRow).toHaveCount(1);
  await expect(savepointRow).toHaveAttribute('data-kind', 'savepoint');
  await expect(savepointRow.getByTestId('savepoint-badge')).toHaveText('Savepoint');
  await expect(page.getByTestId('savepoint-path')).toHaveText([savepointPath]);
  // Every other row is a periodic checkpoint, and the counts and the latest savepoint tell them apart.
  await expect(page.getByTestId('savepoint-badge')).toHaveCount(2); // the row and the latest savepoint's heading
  await expect(page.getByTestId('checkpoints-savepoints').locator('dd')).toHaveText('1');
  await expect(page.getByTestId('savepoint-latest-id')).toHaveText(savepointId ?? 'none');
  await expect(page.getByTestId('savepoint-latest-path')).toHaveText(savepointPath);
  await page.screenshot({ path: shot('job-savepoint-checkpoints'), fullPage: true });

  // Stop with a savepoint: the job ends FINISHED and the buttons leave; the path stays.
  await page.getByTestId('stop-button').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('checkbox', { name: /Drain/ })).not.toBeChecked();
  await dialog.getByRole('button', { name: 'Stop job' }).click();
  const stopped = page.getByTestId('stop-result');
  await expect(stopped).toContainText(/Stopped with savepoint .*savepoints\/savepoint-/, {
    timeout: ACTION_TIMEOUT,
  });
  await expect(status).toHaveText('FINISHED', { timeout: JOB_TIMEOUT });
  await expect(page.getByTestId('savepoint-button')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);
  await page.screenshot({ path: shot('job-stopped-with-savepoint'), fullPage: true });
  const path = (await stopped.locator('code').textContent())?.trim() ?? '';
  expect(path).toMatch(/savepoint-/);
  // The stop's savepoint is the job's latest, marked as taken by a stop.
  await page.getByRole('tab', { name: 'Checkpoints' }).click();
  await expect(page.getByTestId('checkpoints-savepoints').locator('dd')).toHaveText('2');
  await expect(page.getByTestId('savepoint-latest')).toContainText('Savepoint (stop)');
  await expect(page.getByTestId('savepoint-latest-path')).toHaveText(path);
  await expect(page.getByTestId('savepoint-path')).toHaveText([path, savepointPath]);
  await page.screenshot({ path: shot('job-stopped-savepoint-checkpoints'), fullPage: true });

  // The same program again from that savepoint, through the Submit page.
  await runTicker(page, cluster.webUrl, { savepointPath: path });
  // Its timeline says what it restored.
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await expect(
    page.getByTestId('timeline-event').filter({ hasText: `restores the savepoint ${path}` }),
  ).toHaveCount(1);
  await page.screenshot({ path: shot('job-from-savepoint'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
});

test('rescale a running job from parallelism 1 to 2', async ({ page, cluster }) => {
  await runTicker(page, cluster.webUrl, { parallelism: 1 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(page.getByText(/parallelism 1\b/).first()).toBeVisible();

  await page.getByTestId('rescale-button').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('New parallelism').fill('2');
  await dialog.getByRole('button', { name: 'Rescale' }).click();
  const result = page.getByTestId('rescale-result');
  await expect(result).toContainText(/Rescaled from savepoint .*savepoints\//, { timeout: ACTION_TIMEOUT });
  await expect(status).toHaveText('FINISHED', { timeout: JOB_TIMEOUT });
  // The generator source follows the job to parallelism 2, sharing out what it had left: no source warning.
  await expect(result).not.toContainText('restores at parallelism');
  // The old job's checkpoints end with the rescale's savepoint.
  const rescalePath = (await result.locator('code').first().textContent())?.trim() ?? '';
  await page.getByRole('tab', { name: 'Checkpoints' }).click();
  await expect(page.getByTestId('checkpoint-row').first().getByTestId('savepoint-badge')).toHaveText(
    'Savepoint (rescale)',
  );
  await expect(page.getByTestId('savepoint-latest-path')).toHaveText(rescalePath);
  await page.screenshot({ path: shot('job-rescaled-old'), fullPage: true });

  const oldUrl = page.url();
  await result.getByRole('link', { name: 'the new job' }).click();
  await expect(page).not.toHaveURL(oldUrl);
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });
  await expect(page.getByText(/parallelism 2\b/).first()).toBeVisible();
  await expect(page.getByText('2 subtasks running')).toBeVisible();
  await page.screenshot({ path: shot('job-rescaled-new'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
});
