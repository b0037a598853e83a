/**
 * Log lines link to the job and subtask they are about: the records carry
 * `jobId`, `vertexId` and `subtask` fields (no guessing from the text). The
 * JobManager's line about a failed subtask opens the job page on that
 * vertex's subtasks with the subtask marked; a TaskManager's line about a
 * subtask it runs does the same, and the JobManager's line names the
 * TaskManager with a link.
 */
import { join } from 'node:path';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

test('a log line about a subtask links to its job opened on that subtask, on the JobManager and TaskManager logs', async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'fails.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('spinbutton', { name: 'Parallelism' }).fill('1');
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const jobId = decodeURIComponent(page.url().split('/').pop()!);
  const short = jobId.slice(0, 8);
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('FAILED', { timeout: JOB_TIMEOUT });

  // The JobManager's log: the subtask's failure, linked to the job, the subtask and the TaskManager.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'JobManager' }).click();
  const jmLog = page.getByTestId('jm-log');
  const failure = jmLog
    .getByTestId('tm-line')
    .filter({ hasText: 'boom at record 50' })
    .filter({ hasText: `job ${short}` })
    .first();
  await expect(failure).toBeVisible({ timeout: 15_000 });
  await expect(failure).toHaveAttribute('data-level', 'warn');
  await expect(failure.getByTestId('log-subtask-link')).toContainText('#0');
  await expect(failure.getByTestId('log-taskmanager-link')).toBeVisible();
  await page.screenshot({ path: shot('jobmanager-log-subtask-links'), fullPage: true });
  const tmHref = await failure.getByTestId('log-taskmanager-link').getAttribute('href');
  await failure.getByTestId('log-subtask-link').click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${jobId}\\?vertex=[^&]+&subtask=0$`));
  // Opened on that vertex's subtasks, the subtask marked.
  const subtasks = page.getByTestId('subtasks');
  await expect(subtasks).toBeVisible();
  const marked = subtasks.locator('[data-testid="subtask-row"][data-marked]');
  await expect(marked).toHaveCount(1);
  await expect(marked).toHaveAttribute('data-subtask', '0');
  await expect(marked).toHaveAttribute('data-state', 'FAILED');
  await page.screenshot({ path: shot('job-opened-on-subtask'), fullPage: true });

  // The TaskManager that ran it: its log says the subtask failed, with the same links.
  expect(tmHref).toMatch(/^\/taskmanagers\//);
  await page.goto(`${cluster.webUrl}${tmHref!}`);
  await page.getByRole('tab', { name: 'Logs' }).click();
  const tmFailure = page
    .getByTestId('tm-log')
    .getByTestId('tm-line')
    .filter({ hasText: 'FAILED: ' })
    .filter({ hasText: `job ${short}` })
    .first();
  await expect(tmFailure).toBeVisible({ timeout: 15_000 });
  await expect(tmFailure).toContainText('boom at record 50');
  const running = page
    .getByTestId('tm-log')
    .getByTestId('tm-line')
    .filter({ hasText: 'RUNNING' })
    .filter({ hasText: `job ${short}` });
  await expect(running.first().getByTestId('log-subtask-link')).toBeVisible();
  await page.screenshot({ path: shot('taskmanager-log-subtask-links'), fullPage: true });
  await tmFailure.getByTestId('log-subtask-link').click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${jobId}\\?vertex=[^&]+&subtask=0$`));
  await expect(page.getByTestId('subtasks').locator('[data-marked]')).toHaveCount(1);
});
