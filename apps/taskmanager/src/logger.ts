import { pino, type Logger } from 'pino';

/** The structured logger type used throughout the TaskManager. */
export type { Logger };

/** Creates the process logger: one JSON object per line on stdout. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { component: 'taskmanager', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
