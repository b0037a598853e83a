import { pino, type Logger } from 'pino';

/** The structured logger type used throughout the JobManager. */
export type { Logger };

/**
 * Creates the process logger: one JSON object per line on stdout, with an ISO
 * timestamp and the component name.
 */
export function createLogger(level: string, component = 'jobmanager'): Logger {
  return pino({
    level,
    base: { component, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
