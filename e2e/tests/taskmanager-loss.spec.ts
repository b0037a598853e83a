/**
 * A TaskManager dies under a running job: the job restarts from its latest
 * checkpoint on the TaskManagers left (one joins to replace the lost one),
 * the header shows the new attempt and the restart, and the Exceptions tab
 * names the lost TaskManager. The test starts the TaskManager it kills, so
 * the other tests keep theirs.
 */
import { join } from 'node:path';
import { artifactsDir, callJobManager, repoRoot, startTaskManager } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

/** Free slots and live TaskManagers as the JobManager counts them. */
async function cluster(jobManagerUrl: string, token: string): Promise<{ free: number; live: number }> {
  const { body } = await callJobManager(jobManagerUrl, token, 'cluster.overview', undefined, 'query');
  const o = body.result?.data as { slots: { free: number }; taskManagers: { byStatus: { OK: number } } };
  return { free: o.slots.free, live: o.taskManagers.byStatus.OK };
}

test('killing a TaskManager under a running job restarts it; the header and the Exceptions tab show it', async ({
  page,
  cluster: info,
}) => {
  const before = await cluster(info.jobManagerUrl, info.adminToken);
  const doomed = await startTaskManager(info, 'doomed-taskmanager', 1);
  let spare: Awaited<ReturnType<typeof startTaskManager>> | undefined;
  try {
    await expect
      .poll(async () => (await cluster(info.jobManagerUrl, info.adminToken)).live, { timeout: 30_000 })
      .toBe(before.live + 1);
    // As many subtasks as free slots: slots go round-robin over the TaskManagers, so one runs on the doomed one.
    const parallelism = before.free + 1;
    await page.goto(`${info.webUrl}/submit`);
    await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'resilient.ts'));
    await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
    await page.getByRole('spinbutton', { name: 'Parallelism' }).fill(String(parallelism));
    await page.getByRole('button', { name: 'Run' }).click();
    await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
    const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
    await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });
    await expect(page.getByTestId('job-attempt')).toHaveText('attempt 0, 0 restarts');
    // A checkpoint to restart from.
    await page.getByRole('tab', { name: 'Checkpoints' }).click();
    await expect
      .poll(async () => Number(await page.getByTestId('checkpoints-completed').locator('dd').textContent()), {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);

    // A replacement joins, then the doomed TaskManager dies outright.
    spare = await startTaskManager(info, 'spare-taskmanager', 1);
    await doomed.kill();

    await expect(page.getByTestId('job-attempt')).toHaveText('attempt 1, 1 restart', {
      timeout: JOB_TIMEOUT,
    });
    await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });
    await expect(page.getByText(`${parallelism} subtasks running`)).toBeVisible({ timeout: JOB_TIMEOUT });
    await page.getByRole('tab', { name: /Exceptions/ }).click();
    const failure = page
      .getByTestId('exception')
      .filter({ hasText: doomed.id.slice(0, 8) })
      .first();
    await expect(failure).toBeVisible();
    await expect(failure).toContainText('attempt 0');
    await page.evaluate(() => {
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: shot('job-taskmanager-lost-restart'), fullPage: true });
    // The timeline has the restart from a checkpoint.
    await page.getByRole('tab', { name: /Timeline/ }).click();
    await expect(page.locator('[data-testid="timeline-event"][data-restart]')).toContainText(
      /as attempt 1 from checkpoint \d+/,
    );

    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
  } finally {
    await doomed.dispose();
    await spare?.dispose();
  }
});
