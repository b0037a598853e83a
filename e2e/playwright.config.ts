import { join, resolve } from 'node:path';
import { defineConfig } from '@playwright/test';

// Browser tests against the real stack (JobManager, two TaskManagers, the
// built dashboard), started by global-setup.ts on free ports. Chromium comes
// from Debian (/usr/bin/chromium): Playwright's own browser download is never
// used (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
const here = import.meta.dirname;
const reportsDir = resolve(process.env.FRESHET_REPORTS_DIR ?? join(here, '..', '.reports'));

export default defineConfig({
  testDir: join(here, 'tests'),
  outputDir: join(here, 'artifacts', 'test-results'),
  globalSetup: join(here, 'global-setup.ts'),
  // One shared cluster: tests run one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['json', { outputFile: join(reportsDir, 'playwright.json') }]],
  use: {
    // Signed in by global setup (through the one-time login link).
    storageState: join(here, 'artifacts', 'storage-state.json'),
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    colorScheme: 'light',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
});
