import type { FullConfig } from '@playwright/test';
import { CLUSTER_ENV, signIn, startCluster } from './support/cluster.js';

/** TaskManagers silent this long are LOST (LATE at half): short, so the test sees it quickly. */
const HEARTBEAT_TIMEOUT_MS = 3_000;

/**
 * Starts the real stack once for the whole suite and returns its teardown.
 * With FRESHET_TEST_DATABASE_URL (admin URL of a real Postgres) the JobManager
 * gets a fresh database, dropped afterwards; otherwise embedded PGlite in a
 * fresh temporary directory.
 */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const cluster = await startCluster({
    taskManagers: 2,
    slotsPerTaskManager: 2,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    adminDatabaseUrl: process.env.FRESHET_TEST_DATABASE_URL || undefined,
  });
  // Every test starts signed in as admin (the auth tests open fresh contexts).
  try {
    await signIn(cluster.info);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  // Test workers are forked after global setup and inherit this.
  process.env[CLUSTER_ENV] = JSON.stringify(cluster.info);
  return () => cluster.stop();
}
