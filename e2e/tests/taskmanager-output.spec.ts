/**
 * A TaskManager page's Stdout and Logs tabs: what a job's `print()` sink
 * writes appears live on the Stdout tab of the TaskManager that runs it, and
 * the TaskManager's log lines about the job link to it, as do the
 * JobManager page's.
 */
import { join } from 'node:path';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

test('print() output shows on the Stdout tab of its TaskManager; its log and the JobManager’s link to the job', async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'printer.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const jobUrl = page.url();
  const jobId = decodeURIComponent(jobUrl.split('/').pop()!);
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  // The one subtask's TaskManager, from the vertex's subtasks.
  const graph = page.getByRole('group', { name: /JobGraph of/ });
  await graph.getByTestId('vertex-node').first().getByRole('button').click();
  await page.getByTestId('subtasks').getByTestId('subtask-row').getByRole('link').click();
  await expect(page).toHaveURL(/\/taskmanagers\/[^/]+$/);

  // Stdout: the printed records arrive live, newest last.
  await expect(page.getByRole('tab', { name: 'Stdout' })).toHaveAttribute('aria-selected', 'true');
  const stdout = page.getByTestId('tm-stdout');
  const lines = stdout.getByTestId('tm-line');
  await expect(lines.filter({ hasText: 'tick: {"n":' }).first()).toBeVisible({ timeout: 30_000 });
  const count = await lines.count();
  await expect.poll(() => lines.count(), { timeout: 15_000 }).toBeGreaterThan(count);
  const texts = (await lines.locator('code').allTextContents()).filter((t) => t.startsWith('tick: '));
  const numbers = texts.map((t) => (JSON.parse(t.slice('tick: '.length)) as { n: number }).n);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  // The filter narrows the lines.
  await stdout.getByLabel('Filter lines').fill('"n":1');
  for (const text of await lines.locator('code').allTextContents()) expect(text).toContain('"n":1');
  await page.screenshot({ path: shot('taskmanager-stdout'), fullPage: true });

  // Logs: the TaskManager's own lines; the deployment of this job links to it.
  await page.getByRole('tab', { name: 'Logs' }).click();
  const log = page.getByTestId('tm-log');
  const deployed = log
    .getByTestId('tm-line')
    .filter({ has: page.getByTestId('log-job-link') })
    .first();
  await expect(deployed).toBeVisible({ timeout: 15_000 });
  await expect(log.getByTestId('tm-line').filter({ hasText: 'info' }).first()).toBeVisible();
  await page.screenshot({ path: shot('taskmanager-logs'), fullPage: true });
  await log
    .getByTestId('log-job-link')
    .filter({ hasText: `job ${jobId.slice(0, 8)}` })
    .first()
    .click();
  await expect(page).toHaveURL(jobUrl);

  // The JobManager page has its log: the submission of this job, linked.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'JobManager' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'JobManager' })).toBeVisible();
  const jmLog = page.getByTestId('jm-log');
  await expect(jmLog.getByTestId('tm-line').filter({ hasText: 'JobManager listening on' })).toHaveCount(1, {
    timeout: 15_000,
  });
  const submitted = jmLog.getByTestId('tm-line').filter({ hasText: 'Job submitted' }).last();
  await expect(submitted).toContainText(`job ${jobId.slice(0, 8)}`);
  await page.screenshot({ path: shot('jobmanager-log'), fullPage: true });
  await submitted.getByTestId('log-job-link').click();
  await expect(page).toHaveURL(jobUrl);

  // The job's Output tab points to the TaskManagers' Stdout tab for what print() writes.
  await page.getByRole('tab', { name: 'Output' }).click();
  await expect(page.getByTestId('job-output')).toContainText('Stdout tab of the TaskManagers');

  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
});
