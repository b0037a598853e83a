/**
 * The job page and overview defects of issue 14: fan-out throughput counted
 * once, long names and metrics inside their nodes, no input rate on sources,
 * bytes of in-slot exchanges, a one-line failure cause, the timeline newest
 * first with short ids.
 */
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const fixture = (name: string): string => join(repoRoot, 'e2e', 'fixtures', name);
const JOB_TIMEOUT = 60_000;

async function submit(page: Page, webUrl: string, file: string, parallelism: string): Promise<void> {
  await page.goto(`${webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(file);
  await expect(page.getByTestId('upload-ok')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('spinbutton', { name: 'Parallelism' }).fill(parallelism);
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
}

/** Fails unless every element `inner` matches lies within `outer`'s box. */
async function expectInside(outer: Locator, inner: Locator): Promise<void> {
  const box = await outer.boundingBox();
  if (box === null) throw new Error('the node is not visible');
  for (const el of await inner.all()) {
    const b = await el.boundingBox();
    if (b === null) continue;
    expect(b.x, `${await el.textContent()} starts inside its node`).toBeGreaterThanOrEqual(box.x - 0.5);
    expect(b.x + b.width, `${await el.textContent()} ends inside its node`).toBeLessThanOrEqual(
      box.x + box.width + 0.5,
    );
  }
}

/** Reads a rate as the dashboard shows it (`400`, `1.2k`). */
function parseRate(text: string | null): number {
  const m = /([\d.]+)\s*([kM]?)/.exec(text ?? '');
  return m ? Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1) : NaN;
}

test('a source fanning out is counted once, and long names and figures stay in their nodes', async ({
  page,
  cluster,
}) => {
  await submit(page, cluster.webUrl, fixture('fan-out.ts'), '1');
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('RUNNING', { timeout: JOB_TIMEOUT });
  const graph = page.getByRole('group', { name: /JobGraph of/ });
  const nodes = graph.getByTestId('vertex-node');
  await expect(nodes).toHaveCount(3);

  // The source shows what it emits, not an input rate.
  const source = nodes.filter({ hasText: /^numbers/ });
  await expect(source.getByTestId('vertex-source-rate')).toBeVisible({ timeout: 15_000 });
  await expect(source).not.toContainText(/\bin \d/);
  await expect
    .poll(async () => parseRate(await source.getByTestId('vertex-source-rate').textContent()), {
      timeout: JOB_TIMEOUT,
    })
    .toBeGreaterThan(300);

  // Each of its two exchanges carries every record once: 400/s each, not the vertex's 800/s sent in all.
  for (const label of await graph.getByTestId('edge-label').all()) {
    await expect
      .poll(async () => parseRate((await label.textContent())?.split('·')[1] ?? null), { timeout: 15_000 })
      .toBeGreaterThan(300);
    expect(parseRate((await label.textContent())?.split('·')[1] ?? null)).toBeLessThan(520);
  }

  // A long operator name is cut with an ellipsis inside its node (full name on hover), and so are the figures.
  const long = nodes.filter({ hasText: 'Window(TumblingEventTimeWindows(2000)' });
  await expect(long.locator('.vertex-name')).toHaveAttribute('title', /very long name/);
  for (const node of await nodes.all()) {
    await expectInside(
      node,
      node.locator('.vertex-name, .vertex-chain span, .vertex-metrics > span, .vertex-meta'),
    );
  }
  await page.screenshot({ path: shot('job-fan-out'), fullPage: true });

  // The source passes its records to the keyed sum in its own slot: in memory, not "0 B".
  await source.getByRole('button').click();
  await expect(page.getByTestId('subtask-row').first()).toContainText('in memory', { timeout: 15_000 });

  // The overview counts each record once: 400/s, not 800/s.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  const now = page.getByTestId('throughput-now');
  await expect.poll(async () => parseRate(await now.textContent()), { timeout: 30_000 }).toBeGreaterThan(300);
  for (let i = 0; i < 3; i++) {
    expect(parseRate(await now.textContent())).toBeLessThan(520);
    await page.waitForTimeout(1000);
  }
  await page.screenshot({ path: shot('overview-fan-out'), fullPage: true });

  await page.goBack();
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
  await expect(status).toHaveText('CANCELED', { timeout: JOB_TIMEOUT });
});

test('a failed job shows a one-line cause that leads to its exception; the timeline is newest first', async ({
  page,
  cluster,
}) => {
  await submit(page, cluster.webUrl, fixture('fails.ts'), '1');
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('FAILED', { timeout: JOB_TIMEOUT });
  const cause = page.getByTestId('failure-cause');
  await expect(cause).toContainText('boom at record 50');
  // One line, however long the stack trace behind it.
  const box = await cause.boundingBox();
  expect(box!.height).toBeLessThan(40);
  // No stack frame (`at fn (file:line:column)`) in the header.
  await expect(cause).not.toContainText(/:\d+:\d+\)/);
  await page.getByRole('tab', { name: /Timeline/ }).click();
  const events = page.getByTestId('timeline-event');
  // Newest first: the job's final state heads the list.
  await expect(events.first()).toContainText('FAILED');
  await expect(page.locator('.timeline')).not.toContainText(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
  );
  await cause.getByRole('button', { name: 'See the exception' }).click();
  await expect(page.getByRole('tab', { name: /Exceptions/ })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('exception').first()).toContainText('boom at record 50');
  // Its stack trace is source-mapped: the frame points at the line of fails.ts that threw.
  await expect(page.getByTestId('exception').first().locator('pre')).toContainText('program:fails.ts:13:');
  await page.evaluate(() => {
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: shot('job-failed'), fullPage: true });
});
