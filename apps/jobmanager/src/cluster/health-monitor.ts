import type { Logger } from '../logger.js';
import type { ClusterRegistry } from './registry.js';

/** A running health monitor; stop it before closing the database. */
export interface HealthMonitor {
  stop(): Promise<void>;
}

/**
 * Checks TaskManager liveness periodically, often enough that a LOST verdict
 * comes at most a tenth of the timeout (capped at one second) late. A tick
 * that comes late shows this process was held up: the delay is passed on as
 * time it could not read heartbeats (see `checkLiveness`), so a stall of the
 * JobManager itself never makes it declare its TaskManagers lost.
 */
export function startHealthMonitor(
  registry: ClusterRegistry,
  heartbeatTimeoutMs: number,
  logger: Logger,
): HealthMonitor {
  const periodMs = Math.min(1000, Math.max(25, Math.floor(heartbeatTimeoutMs / 10)));
  let running: Promise<void> | undefined;
  let lastTick = performance.now();
  let blindMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    // Beyond a few milliseconds of timer jitter, a late tick is time no heartbeat could be read.
    const late = now - lastTick - periodMs;
    if (late > Math.min(50, periodMs / 2)) blindMs += late;
    lastTick = now;
    // Skip a tick rather than pile up checks behind a slow database.
    if (running !== undefined) return;
    const blind = blindMs;
    blindMs = 0;
    running = registry
      .checkLiveness(blind)
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
