import { join } from 'node:path';
import { artifactsDir, freePort, startDashboard } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);

test('overview and TaskManagers follow the cluster live, without reloads', async ({ page, cluster }) => {
  await page.goto(`${cluster.webUrl}/`);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();

  // Two TaskManagers with two slots each, all free; the database kind is shown.
  const taskManagers = page.getByRole('region', { name: 'TaskManagers' });
  const slots = page.getByRole('region', { name: 'Slots' });
  await expect(taskManagers.getByTestId('card-taskmanagers-value')).toHaveText('2');
  await expect(slots.getByTestId('card-slots-value')).toHaveText('4');
  await expect(slots).toContainText('4 free');
  await expect(page.getByRole('region', { name: 'JobManager' })).toContainText(
    cluster.database === 'postgres' ? 'PostgreSQL' : 'Embedded PGlite',
  );
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
  await page.screenshot({ path: shot('overview'), fullPage: true });

  // Mark this document: if anything below reloads the page, the mark is gone.
  await page.evaluate(() => {
    document.documentElement.dataset.e2eMark = 'still-here';
  });

  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();

  // Client-side navigation through the header.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'TaskManagers' }).click();
  await expect(page).toHaveURL(/\/taskmanagers$/);
  await expect(page.getByRole('heading', { level: 1, name: 'TaskManagers' })).toBeVisible();
  const rows = page.getByTestId('taskmanager-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ has: page.getByText('OK', { exact: true }) })).toHaveCount(2);
  await expect(rows.first()).toContainText('0/2');
  await page.screenshot({ path: shot('taskmanagers'), fullPage: true });

  // Kill one TaskManager outright: the JobManager declares it LOST after the
  // heartbeat timeout and the page follows through the subscription.
  process.kill(cluster.taskManagerPids[0]!, 'SIGKILL');
  await expect(page.locator('[data-testid="taskmanager-row"][data-status="LOST"]')).toHaveCount(1, {
    timeout: cluster.heartbeatTimeoutMs * 4,
  });
  await expect(page.locator('[data-testid="taskmanager-row"][data-status="OK"]')).toHaveCount(1);
  await expect(page.getByText('1 of 2 TaskManagers live')).toBeVisible();
  await page.screenshot({ path: shot('taskmanagers-lost'), fullPage: true });

  // Back to the overview: one live TaskManager, two slots.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(taskManagers.getByTestId('card-taskmanagers-value')).toHaveText('1');
  await expect(taskManagers).toContainText('1 LOST');
  await expect(slots.getByTestId('card-slots-value')).toHaveText('2');

  // Dark theme by the toggle.
  await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Switch to light theme' })).toBeVisible();
  await page.screenshot({ path: shot('overview-dark'), fullPage: true });

  expect(await page.evaluate(() => document.documentElement.dataset.e2eMark)).toBe('still-here');
});

test('an unreachable JobManager shows a clear message, not a blank page', async ({ page, consoleErrors }) => {
  // A second dashboard from the same build, pointed at a port where nothing listens.
  const deadPort = await freePort();
  const dashboard = await startDashboard(`http://127.0.0.1:${deadPort}`);
  try {
    await page.goto(`${dashboard.url}/`);
    const alert = page.getByRole('alert').filter({ hasText: 'Cannot reach the JobManager' });
    await expect(alert).toContainText('Cannot reach the JobManager', { timeout: 30_000 });
    await expect(alert).toContainText(`http://127.0.0.1:${deadPort}`);
    await expect(page.getByRole('button', { name: 'Try again' })).toBeVisible();
    await expect(
      page.getByRole('status').filter({ hasText: /Reconnecting|Offline|Connecting/ }),
    ).toBeVisible();
    await page.screenshot({ path: shot('overview-unreachable'), fullPage: true });
  } finally {
    await dashboard.stop();
  }
  // The browser rightly logs the failed requests (502); nothing else may fail.
  const unexpected = consoleErrors.filter((e) => !/Failed to load resource|EventSource/i.test(e));
  consoleErrors.length = 0;
  expect(unexpected).toEqual([]);
});
