import { pino, type Logger } from 'pino';

/** The structured logger type used throughout the JobManager. */
export type { Logger };

/**
 * Creates the process logger: one JSON object per line on stdout, with an ISO
 * timestamp and the component name; with `copy`, each line is also handed
 * to it (the dashboard's JobManager log).
 */
export function createLogger(
  level: string,
  component = 'jobmanager',
  copy?: { write(line: string): void },
): Logger {
  const options = { level, base: { component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (copy === undefined) return pino(options);
  // The logger's level filters; each destination takes every line it is given.
  return pino(
    options,
    pino.multistream([
      { level: 'trace', stream: pino.destination(1) },
      { level: 'trace', stream: copy },
    ]),
  );
}
