import { pino, type Logger } from 'pino';
import type { OutputCapture } from './output-capture.js';

/** The structured logger type used throughout the TaskManager. */
export type { Logger };

/**
 * Creates the process logger: one JSON object per line on stdout, and, with
 * `capture`, each line held for the dashboard's Logs tab as well.
 */
export function createLogger(level: string, capture?: OutputCapture): Logger {
  const options = {
    level,
    base: { component: 'taskmanager', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (capture === undefined) return pino(options);
  // The logger's level filters; each destination takes every line it is given.
  return pino(
    options,
    pino.multistream([
      { level: 'trace', stream: pino.destination(1) },
      { level: 'trace', stream: capture.logStream() },
    ]),
  );
}
