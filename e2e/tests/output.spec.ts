/**
 * A job's Output tab tails the records of its collect sinks live: they
 * arrive while it runs, pause holds the view, the filter narrows it, and an
 * ended job keeps its last records.
 */
import { join } from 'node:path';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

test('the Output tab tails a running job, pauses, filters, and keeps the last records once it ended', async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'ticker.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  await page.getByRole('tab', { name: 'Output' }).click();
  const records = page.getByTestId('output-record');
  await expect(records.first()).toContainText('"tick":', { timeout: 30_000 });
  const first = await records.count();
  await expect.poll(() => records.count(), { timeout: 15_000 }).toBeGreaterThan(first);
  await page.screenshot({ path: shot('job-output-live'), fullPage: true });

  // Paused: nothing new appears while the job keeps producing.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('output-status')).toContainText('Paused');
  const held = await records.count();
  await page.waitForTimeout(2500);
  expect(await records.count()).toBe(held);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => records.count(), { timeout: 15_000 }).toBeGreaterThan(held);

  // The filter narrows the view to matching records.
  await page.getByLabel('Filter output').fill('"parity":"odd"');
  await expect(records.first()).toContainText('"parity":"odd"');
  for (const text of await records.allTextContents()) expect(text).toContain('"parity":"odd"');
  await page.getByLabel('Filter output').fill('');

  // Cancelled, the job keeps its last records (after a reload too).
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
  await page.reload();
  await page.getByRole('tab', { name: 'Output' }).click();
  await expect(records.first()).toContainText('"tick":', { timeout: 15_000 });
  await expect(page.getByTestId('output-status')).toContainText('Ended');
  await page.screenshot({ path: shot('job-output-ended'), fullPage: true });
});
