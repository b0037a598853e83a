/** `freshet list`: the JobManager's jobs, newest first. */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { JOB_STATUSES, type JobStatus } from '@freshet/protocol';
import { formatTable, printJson } from '../output.js';
import { call, connect, withJobManagerOptions, type JobManagerOptions } from './jobs.js';

interface ListOptions extends JobManagerOptions {
  status?: JobStatus[];
  limit?: number;
}

function parseStatus(value: string, previous: JobStatus[] = []): JobStatus[] {
  const out = [...previous];
  for (const part of value.split(',')) {
    const s = part.trim().toUpperCase();
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(`expected one of ${JOB_STATUSES.join(', ')}, got '${part}'`);
    }
    out.push(s as JobStatus);
  }
  return out;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new InvalidArgumentError(`expected 1-500, got '${value}'`);
  return n;
}

/** `1h 2m`, `3m 4s`, `5.2s`, `800ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** Registers `freshet list`. */
export function register(program: Command): void {
  withJobManagerOptions(program.command('list').description("List the JobManager's jobs, newest first"))
    .option('--status <status>', 'only jobs in this status (repeat or comma-separate)', parseStatus)
    .option('--limit <n>', 'at most this many jobs (default 50)', parseLimit)
    .action(async (opts: ListOptions) => {
      const client = await connect(opts);
      const page = await call(opts.jobmanager, () =>
        client.jobs.list.query({
          limit: opts.limit ?? 50,
          ...(opts.status !== undefined ? { status: opts.status } : {}),
        }),
      );
      if (opts.json) {
        printJson(page.jobs);
        return;
      }
      if (page.jobs.length === 0) {
        process.stdout.write('No jobs\n');
        return;
      }
      const rows = page.jobs.map((j) => [
        j.id,
        j.name,
        j.status,
        (j.startedAt ?? j.createdAt).replace('T', ' ').slice(0, 19),
        formatDuration(j.durationMs),
        String(j.parallelism),
      ]);
      process.stdout.write(
        `${formatTable(['JOB ID', 'NAME', 'STATUS', 'START', 'DURATION', 'PARALLELISM'], rows)}\n`,
      );
      if (page.nextCursor !== null) process.stdout.write(`(more jobs: use --limit)\n`);
    });
}
