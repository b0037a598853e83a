/**
 * A job's Checkpoints tab: counts, the latest completed checkpoint with its
 * restore path and acknowledgements, the history with a timed-out
 * checkpoint's cause; the header and the timeline show the restart.
 */
import { join } from 'node:path';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

test('the Checkpoints tab shows counts, the latest completed, the history and a failed checkpoint; the header and timeline show the restart', async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'checkpointed.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  // The planned failure restarts the job once: the header says so.
  await expect(page.getByTestId('job-attempt')).toHaveText('attempt 1, 1 restart', { timeout: JOB_TIMEOUT });
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  await page.getByRole('tab', { name: 'Checkpoints' }).click();
  const tab = page.getByTestId('checkpoints');
  await expect(tab.getByTestId('checkpointing-config')).toContainText(
    'Every 300 ms, exactly-once, timeout 800 ms',
  );
  // Checkpoints complete in both attempts; the counts follow live.
  const completed = tab.getByTestId('checkpoints-completed').locator('dd');
  await expect
    .poll(async () => Number(await completed.textContent()), { timeout: 30_000 })
    .toBeGreaterThan(3);
  const before = Number(await completed.textContent());
  await expect
    .poll(async () => Number(await completed.textContent()), { timeout: 15_000 })
    .toBeGreaterThan(before);

  // The checkpoint the stuck function held up timed out: it is failed, with its cause.
  await expect(tab.getByTestId('checkpoints-failed').locator('dd')).not.toHaveText('0');
  const failure = tab.getByTestId('checkpoint-failure').first();
  await expect(failure).toContainText(/Checkpoint \d+ failed: .+/);
  await expect(tab.locator('[data-testid="checkpoint-row"][data-status="FAILED"]').first()).toBeVisible();

  // The latest completed one: its restore path, and an acknowledgement per subtask (2 vertices × 1).
  const latest = tab.getByTestId('checkpoint-latest');
  await expect(latest).toContainText('attempt 1');
  await expect(tab.getByTestId('checkpoint-restore-path')).toContainText('_metadata');
  await latest.getByText(/Acknowledgements of its 2 subtasks/).click();
  await expect(latest.getByTestId('checkpoint-ack')).toHaveCount(2);
  await expect(latest.getByTestId('checkpoint-ack').first()).toContainText('numbers');
  // History: newest first, each with a duration and a size.
  const rows = tab.locator('[data-testid="checkpoint-row"][data-status="COMPLETED"]');
  const ids = (await tab.getByTestId('checkpoint-row').locator('th').allTextContents()).map(Number);
  expect(ids).toEqual([...ids].sort((a, b) => b - a));
  // Status, kind, attempt, trigger time, duration, size: periodic checkpoints, none a savepoint.
  await expect(rows.first()).toHaveAttribute('data-kind', 'checkpoint');
  await expect(rows.first().locator('td').nth(1)).toHaveText('checkpoint');
  await expect(page.getByTestId('checkpoints-savepoints').locator('dd')).toHaveText('0');
  await expect(rows.first().locator('td').nth(4)).toHaveText(/\d+ ms|\d+\.\d s/);
  await expect(rows.first().locator('td').nth(5)).toHaveText(/\d+(\.\d)? (B|KiB|MiB)/);
  await expect(tab.getByRole('img', { name: /Checkpoint duration/ })).toBeVisible();
  await page.screenshot({ path: shot('job-checkpoints'), fullPage: true });

  // The Exceptions tab names the failed attempt.
  await page.getByRole('tab', { name: 'Exceptions' }).click();
  await expect(
    page.getByTestId('exception').filter({ hasText: 'planned failure at record 400' }).first(),
  ).toContainText('attempt 0');

  // The timeline, newest first, has the restart from a checkpoint.
  await page.getByRole('tab', { name: 'Timeline' }).click();
  const restart = page.locator('[data-testid="timeline-event"][data-restart]');
  await expect(restart).toHaveCount(1);
  await expect(restart).toContainText('RESTART');
  await expect(restart).toContainText(/as attempt 1 from checkpoint \d+/);
  await page.screenshot({ path: shot('job-timeline-restart'), fullPage: true });

  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
});
