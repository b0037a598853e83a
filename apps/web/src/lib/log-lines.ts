/**
 * Reading the JobManager's and TaskManagers' log lines: pino JSON records
 * whose fields (`jobId`, `vertexId`, `subtask`, `taskManagerId`) say what a
 * line is about, so the dashboard links it without guessing from its text.
 */
import { formatTime } from './format';

/** pino's numeric levels by name. */
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** A log line as the log tabs show it. */
export interface LogEntry {
  time: string;
  level: string;
  message: string;
  /** The job the line is about. */
  jobId: string | undefined;
  /** The vertex it is about (with `jobId`). */
  vertexId: string | undefined;
  /** The subtask index it is about (with `vertexId`). */
  subtask: number | undefined;
  /** The TaskManager it is about (on the JobManager's log). */
  taskManagerId: string | undefined;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

const index = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
};

/** Parses one line (a JSON record, else plain text stamped with `at`, epoch ms). */
export function parseLogLine(text: string, at: number): LogEntry {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    o = undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    return {
      time: formatTime(new Date(at).toISOString()),
      level: '',
      message: text,
      jobId: undefined,
      vertexId: undefined,
      subtask: undefined,
      taskManagerId: undefined,
    };
  }
  const r = o as Record<string, unknown>;
  const jobId = str(r.jobId);
  const vertexId = jobId === undefined ? undefined : (str(r.vertexId) ?? str(r.vertex));
  return {
    time: formatTime(str(r.time) ?? new Date(at).toISOString()),
    level: typeof r.level === 'number' ? (LEVELS[r.level] ?? String(r.level)) : (str(r.level) ?? ''),
    message: str(r.msg) ?? text,
    jobId,
    vertexId,
    subtask: vertexId === undefined ? undefined : (index(r.subtask) ?? index(r.subtaskIndex)),
    taskManagerId: str(r.taskManagerId),
  };
}

/** The job page of a line's job, opened on its vertex (and subtask) when the line names one. */
export function jobHref(e: Pick<LogEntry, 'jobId' | 'vertexId' | 'subtask'>): string | undefined {
  if (e.jobId === undefined) return undefined;
  const base = `/jobs/${encodeURIComponent(e.jobId)}`;
  if (e.vertexId === undefined) return base;
  const q = new URLSearchParams({ vertex: e.vertexId });
  if (e.subtask !== undefined) q.set('subtask', String(e.subtask));
  return `${base}?${q.toString()}`;
}
