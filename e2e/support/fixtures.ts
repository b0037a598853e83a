import { test as base, expect } from '@playwright/test';
import { clusterInfo, type ClusterInfo } from './cluster.js';

/** Playwright's `test` with the running cluster, failing any test that logs a browser console error. */
export const test = base.extend<{ cluster: ClusterInfo; consoleErrors: string[] }>({
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
});

export { expect };
