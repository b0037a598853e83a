/**
 * Looking inside a running job: clicking the keyBy edge's label opens a
 * panel that lists records sampled where they cross it, live, each with the
 * subtask that produced it (closing the panel ends the tap); and "Profile
 * 10 s" on the TaskManager that runs it draws a flame graph of its task
 * process.
 */
import { join } from 'node:path';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

test('clicking an edge of a running job shows the records crossing it live, and its TaskManager profiles to a flame graph', async ({
  page,
  cluster,
}) => {
  await page.goto(`${cluster.webUrl}/submit`);
  await page
    .getByLabel('Program file')
    .setInputFiles(join(repoRoot, 'e2e', 'fixtures', 'unbounded-generator.ts'));
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });

  // The generator's numbers cross the HASH edge to the running sum.
  const edge = page.getByRole('button', { name: /HASH/ });
  await edge.click();
  const panel = page.getByTestId('edge-tap');
  await expect(panel.getByRole('heading', { level: 2 }).first()).toContainText(
    'Records crossing ticks → running sum',
  );
  const records = panel.getByTestId('tap-record');
  await expect(records.first()).toBeVisible({ timeout: 30_000 });
  const first = await records.count();
  await expect.poll(() => records.count(), { timeout: 15_000 }).toBeGreaterThan(first);
  // Each is a number the generator made, from one of its subtasks.
  for (const text of (await panel.getByTestId('tap-record-value').allTextContents()).slice(0, 20))
    expect(text).toMatch(/^\d+$/);
  await expect(panel.getByTestId('tap-record-subtask').first()).toHaveText(/^ticks #\d+$/);
  await expect(panel.getByTestId('edge-tap-status')).toContainText('producing subtask');
  await page.screenshot({ path: shot('edge-tap'), fullPage: true });

  await panel.getByRole('button', { name: 'Close' }).click();
  await expect(panel).toBeHidden();

  // The source's TaskManager, from the vertex's subtasks: profile its task process.
  const jobUrl = page.url();
  await page
    .getByRole('group', { name: /JobGraph of/ })
    .getByTestId('vertex-node')
    .first()
    .getByRole('button')
    .click();
  await page.getByTestId('subtasks').getByTestId('subtask-row').getByRole('link').click();
  await expect(page).toHaveURL(/\/taskmanagers\/[^/]+$/);
  const profile = page.getByTestId('cpu-profile');
  await profile.getByRole('button', { name: 'Profile 10 s' }).click();
  await expect(profile.getByRole('button', { name: /Profiling for 10 s/ })).toBeDisabled();
  const flame = profile.getByTestId('flame-graph');
  await expect(flame).toBeVisible({ timeout: 40_000 });
  await expect(profile.getByTestId('cpu-profile-status')).toHaveText(/sampled \(.+ on CPU\) over 10 s/);
  await expect(flame.locator('[data-name="TaskManager"]')).toHaveCount(1);
  await expect(flame.locator('[data-name="main thread"]')).toHaveCount(1);
  await expect(flame.locator('[data-name^="worker thread"]').first()).toBeVisible();
  // How deep the stacks go below the threads depends on what V8 inlined and on how much CPU the job
  // took (60-70 ms over the 10 s on a fast machine, sometimes all of it in the threads' own frames):
  // the graph's structure is checked above, not its depth.
  await page.screenshot({ path: shot('cpu-flame-graph'), fullPage: true });
  // Clicking a frame zooms to it.
  await flame.locator('[data-name="main thread"]').click();
  await expect(profile.getByRole('button', { name: 'Reset zoom' })).toBeVisible();
  await expect(flame.locator('[data-name="TaskManager"]')).toHaveCount(0);

  await page.goto(jobUrl);

  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
  // An ended job's edges are plain labels again.
  await expect(page.getByRole('button', { name: /HASH/ })).toHaveCount(0);
});
