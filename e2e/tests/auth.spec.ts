import { join } from 'node:path';
import type { Browser, BrowserContext } from '@playwright/test';
import { artifactsDir, callJobManager, loginLink, repoRoot, type ClusterInfo } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);

/** A browser context with no session (every other test starts signed in as admin). */
function signedOut(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ storageState: { cookies: [], origins: [] } });
}

/** Uploads and submits a fixture with the admin token; returns the job id. */
async function submitDirectly(cluster: ClusterInfo, fixture: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const form = new FormData();
  form.append('file', new Blob([await readFile(join(repoRoot, 'e2e', 'fixtures', fixture))]), fixture);
  const up = await fetch(`${cluster.jobManagerUrl}/trpc/artifacts.upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cluster.adminToken}` },
    body: form,
  });
  const artifactId = ((await up.json()) as { result: { data: { artifact: { id: string } } } }).result.data
    .artifact.id;
  const { body } = await callJobManager(cluster.jobManagerUrl, cluster.adminToken, 'jobs.submit', {
    artifactId,
  });
  return (body.result?.data as { jobId: string }).jobId;
}

test('the one-time login link signs in without leaving a token in the address; signing out ends the session', async ({
  browser,
  cluster,
}) => {
  const context = await signedOut(browser);
  const page = await context.newPage();
  // Without a session every page leads to the login page.
  await page.goto(`${cluster.webUrl}/jobs`);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await page.screenshot({ path: shot('login'), fullPage: true });

  const link = await loginLink(cluster);
  await page.goto(link);
  await expect(page).toHaveURL(`${cluster.webUrl}/`);
  expect(page.url()).not.toContain('code=');
  await expect(page.getByTestId('session-role')).toHaveText('admin');
  await expect(
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Submit', exact: true }),
  ).toBeVisible();
  const [cookie] = await context.cookies(cluster.webUrl);
  expect(cookie).toMatchObject({ name: 'freshet_session', httpOnly: true, sameSite: 'Strict' });
  // The page's scripts cannot read the session.
  expect(await page.evaluate(() => document.cookie)).toBe('');

  // The link worked once.
  const again = await signedOut(browser);
  const second = await again.newPage();
  await second.goto(link);
  await expect(second).toHaveURL(/\/login\?error=/);
  await expect(second.getByTestId('login-error')).toContainText('not valid');
  await again.close();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  // The session's token was revoked at the JobManager, not only forgotten by the browser.
  const { status } = await callJobManager(cluster.jobManagerUrl, cookie!.value, 'auth.whoami', {}, 'query');
  expect(status).toBe(401);
  await context.close();
});

test('a viewer sees no Submit or Cancel, and the JobManager refuses a forged cancel', async ({
  browser,
  cluster,
}) => {
  const created = await callJobManager(cluster.jobManagerUrl, cluster.adminToken, 'tokens.create', {
    name: 'e2e viewer',
    role: 'viewer',
  });
  const viewerToken = (created.body.result?.data as { token: string }).token;
  const jobId = await submitDirectly(cluster, 'unbounded-generator.ts');
  const context = await signedOut(browser);
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  try {
    // Sign in by pasting the token.
    await page.goto(`${cluster.webUrl}/login`);
    await page.getByLabel('API token').fill(viewerToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(`${cluster.webUrl}/`);
    await expect(page.getByTestId('session-role')).toHaveText('viewer');
    await expect(page.getByRole('link', { name: 'Submit' })).toHaveCount(0);
    // Nor on the jobs list.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
    await expect(page.getByTestId('job-row').first()).toBeVisible();
    await expect(page.getByRole('link', { name: /Submit/ })).toHaveCount(0);

    await page.goto(`${cluster.webUrl}/jobs/${jobId}`);
    const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
    await expect(status).toHaveText('RUNNING', { timeout: 60_000 });
    await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);
    await page.screenshot({ path: shot('job-viewer'), fullPage: true });

    // A forged cancel from the page itself: the dashboard forwards it, the JobManager refuses the role.
    const forged = await page.evaluate(async (id) => {
      const res = await fetch('/trpc/jobs.cancel', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobId: id }),
      });
      return { status: res.status, text: await res.text() };
    }, jobId);
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('FORBIDDEN');
    // From another origin the dashboard does not even forward it.
    const crossSite = await page.request.post(`${cluster.webUrl}/trpc/jobs.cancel`, {
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      data: { jobId },
    });
    expect(crossSite.status()).toBe(403);
    await expect(status).toHaveText('RUNNING');

    await page.goto(`${cluster.webUrl}/submit`);
    await expect(page.getByTestId('submit-forbidden')).toContainText('viewer');
  } finally {
    await callJobManager(cluster.jobManagerUrl, cluster.adminToken, 'jobs.cancel', { jobId });
    await context.close();
  }
  // Only the refused forgery may show up in the console.
  expect(consoleErrors.filter((e) => !/403/.test(e))).toEqual([]);
});
