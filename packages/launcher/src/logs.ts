/**
 * The output of a launched process, line by line: JobManagers and
 * TaskManagers log pino JSON (one object a line) on stdout; anything else
 * (a crash's stack on stderr, a dashboard's text) is kept as plain text.
 */

/** One log line of a process: a parsed pino object, or `{ level: 0, msg }` for a line that is not one. */
export interface LogLine {
  /** pino's numeric level (30 = info, 40 = warn, …); 0 for a plain-text line. */
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** What a process's line was, as read. */
export interface ReadLine {
  /** The line as the process wrote it. */
  raw: string;
  /** Parsed: the pino object, or the plain text as `msg` with level 0. */
  entry: LogLine;
  /** Whether `raw` was a pino JSON object. */
  json: boolean;
}

/** Parses one stdout line: a JSON object with a string `msg` is a log entry, anything else plain text. */
export function readLine(raw: string): ReadLine {
  if (raw.startsWith('{')) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LogLine).msg === 'string') {
        const entry = parsed as LogLine;
        if (typeof entry.level !== 'number') entry.level = Number(entry.level) || 0;
        return { raw, entry, json: true };
      }
    } catch {
      // Not JSON after all: plain text.
    }
  }
  return { raw, entry: { level: 0, msg: raw }, json: false };
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * A line as a person reads it in a terminal: `[name] LEVEL msg` for a pino
 * entry (the other fields dropped), `[name] text` for anything else.
 */
export function formatForTerminal(name: string, line: ReadLine): string {
  if (!line.json) return `[${name}] ${line.raw}`;
  return `[${name}] ${LEVEL_NAMES[line.entry.level] ?? 'INFO '} ${line.entry.msg}`;
}

/** A log-message matcher: a prefix of `msg`, or a predicate over the entry. */
export type LogMatch = string | ((line: LogLine) => boolean);

/** The predicate of a {@link LogMatch}. */
export function matcherOf(match: LogMatch): (line: LogLine) => boolean {
  return typeof match === 'string' ? (l) => l.msg.startsWith(match) : match;
}

/** A {@link LogMatch} for an error message. */
export function describeMatch(match: LogMatch): string {
  return typeof match === 'string' ? `"${match}"` : 'a matching line';
}
