import type { Logger } from '../logger.js';
import type { ClusterRegistry } from './registry.js';

/** A running health monitor; stop it before closing the database. */
export interface HealthMonitor {
  stop(): Promise<void>;
}

/**
 * Checks TaskManager liveness periodically, often enough that a LOST verdict
 * comes at most a tenth of the timeout (capped at one second) late.
 */
export function startHealthMonitor(
  registry: ClusterRegistry,
  heartbeatTimeoutMs: number,
  logger: Logger,
): HealthMonitor {
  const periodMs = Math.min(1000, Math.max(25, Math.floor(heartbeatTimeoutMs / 10)));
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    // Skip a tick rather than pile up checks behind a slow database.
    if (running !== undefined) return;
    running = registry
      .checkLiveness()
      .catch((err: unknown) => {
        logger.error({ err }, 'TaskManager liveness check failed');
      })
      .finally(() => {
        running = undefined;
      });
  }, periodMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
