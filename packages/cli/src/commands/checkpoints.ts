/**
 * `freshet checkpoints JOB`: a job's checkpoints as the JobManager recorded
 * them (`jobs.checkpoints`): its checkpointing, counts and duration
 * figures, the newest checkpoints, and every subtask's acknowledgement of
 * the latest completed one (the one a restart restores from).
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { RouterOutputs } from '@freshet/jobmanager/router';
import { formatTable, printJson } from '../output.js';
import { call, connect, withJobManagerOptions, type JobManagerOptions } from './jobs.js';
import { formatDuration } from './list.js';

interface CheckpointsOptions extends JobManagerOptions {
  limit?: number;
}

type JobCheckpoints = RouterOutputs['jobs']['checkpoints'];

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`expected 1-1000, got '${value}'`);
  return n;
}

/** `512 B`, `3.4 KB`, `12.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const time = (iso: string): string => iso.replace('T', ' ').slice(0, 19);

/** The text `freshet checkpoints` prints. */
export function renderCheckpoints(view: JobCheckpoints): string {
  const out: string[] = [];
  const c = view.checkpointing;
  out.push(
    c === null
      ? `Job ${view.jobId}: no periodic checkpoints (a bounded job ends with one final checkpoint)`
      : `Job ${view.jobId}: a checkpoint every ${c.intervalMs} ms (${c.mode}), timeout ${c.timeoutMs} ms, ${c.maxRetainedCheckpoints} retained`,
  );
  const d = view.durationMs;
  out.push(
    `${view.counts.completed} completed, ${view.counts.failed} failed, ${view.counts.inProgress} in progress` +
      (d === null
        ? ''
        : `; duration p50 ${formatDuration(d.p50)}, p99 ${formatDuration(d.p99)}, max ${formatDuration(d.max)}`),
  );
  if (view.history.length > 0) {
    out.push('');
    out.push(
      formatTable(
        ['ID', 'STATUS', 'ATTEMPT', 'TRIGGERED', 'DURATION', 'SIZE', 'ALIGNMENT', 'ACKS', 'NOTE'],
        view.history.map((h) => [
          String(h.checkpointId),
          h.status,
          String(h.attempt),
          time(h.triggeredAt),
          h.durationMs === null ? '-' : formatDuration(h.durationMs),
          h.bytes === null ? '-' : formatBytes(h.bytes),
          h.alignmentMs === null ? '-' : formatDuration(h.alignmentMs),
          `${h.acknowledged}/${h.total}`,
          h.failureCause ?? (h.discarded ? 'discarded' : ''),
        ]),
      ),
    );
  }
  const latest = view.latest;
  if (latest !== null) {
    out.push('');
    out.push(`Latest completed: ${latest.checkpointId} (${latest.metadataPath ?? 'no metadata path'})`);
    out.push(
      formatTable(
        ['SUBTASK', 'ATTEMPT', 'ACKED', 'SIZE', 'ALIGNMENT', 'SYNC', 'ASYNC', 'FINAL'],
        latest.acks.map((a) => [
          `${a.vertexId}#${a.subtaskIndex}`,
          String(a.attempt),
          time(a.ackedAt),
          formatBytes(a.bytes),
          formatDuration(a.alignmentMs),
          formatDuration(a.syncMs),
          formatDuration(a.asyncMs),
          a.final ? 'yes' : '',
        ]),
      ),
    );
  }
  return out.join('\n');
}

/** Registers `freshet checkpoints`. */
export function register(program: Command): void {
  withJobManagerOptions(
    program
      .command('checkpoints')
      .description(
        "A job's checkpoints: status, duration, size, and the latest completed one's acknowledgements",
      )
      .argument('<job>', 'job id (see freshet list)'),
  )
    .option('--limit <n>', 'at most this many of the newest checkpoints (default 20)', parseLimit)
    .action(async (jobId: string, opts: CheckpointsOptions) => {
      const client = await connect(opts);
      const view = await call(opts.jobmanager, () =>
        client.jobs.checkpoints.query({ jobId, limit: opts.limit ?? 20 }),
      );
      if (opts.json) printJson(view);
      else process.stdout.write(`${renderCheckpoints(view)}\n`);
    });
}
