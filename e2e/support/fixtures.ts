import { test as base, expect } from '@playwright/test';
import { callJobManager, clusterInfo, type ClusterInfo } from './cluster.js';

/** Job statuses that hold slots. */
const ACTIVE = ['CREATED', 'RUNNING', 'RESTARTING', 'FAILING', 'CANCELLING'];

/** Ids of the cluster's jobs that still hold slots. */
async function activeJobs(info: ClusterInfo): Promise<string[]> {
  const res = await callJobManager(
    info.jobManagerUrl,
    info.adminToken,
    'jobs.list',
    { status: ACTIVE, limit: 500 },
    'query',
  );
  const data = res.body.result?.data as { jobs?: { id: string }[] } | undefined;
  if (data?.jobs === undefined)
    throw new Error(`jobs.list answered ${res.status}: ${JSON.stringify(res.body)}`);
  return data.jobs.map((j) => j.id);
}

/** Playwright's `test` with the running cluster, failing any test that logs a browser console error. */
export const test = base.extend<{ cluster: ClusterInfo; consoleErrors: string[]; releaseSlots: undefined }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring
  cluster: async ({}, use) => {
    await use(clusterInfo());
  },
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
      await use(errors);
      expect(errors, 'the browser console must stay free of errors').toEqual([]);
    },
    { auto: true },
  ],
  // A test that fails may leave its job running, holding slots the next tests need (one
  // failure then shows up as five). After a failed test, cancel the jobs it left active.
  releaseSlots: [
    async ({ cluster }, use, testInfo) => {
      // Best effort on both sides: a JobManager that cannot answer must not fail a test by itself.
      const before = await activeJobs(cluster).catch(() => undefined);
      await use(undefined);
      if (before === undefined || testInfo.status === testInfo.expectedStatus) return;
      const known = new Set(before);
      const left = await activeJobs(cluster).catch((e: unknown) => {
        console.warn(`[e2e] could not list the jobs left by '${testInfo.title}': ${String(e)}`);
        return [];
      });
      for (const jobId of left) {
        if (known.has(jobId)) continue;
        const res = await callJobManager(cluster.jobManagerUrl, cluster.adminToken, 'jobs.cancel', { jobId });
        console.warn(
          `[e2e] canceled job ${jobId} (HTTP ${res.status}), left running by the failed test '${testInfo.title}'`,
        );
      }
    },
    { auto: true },
  ],
});

export { expect };
