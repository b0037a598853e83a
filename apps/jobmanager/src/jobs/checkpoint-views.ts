/**
 * What `jobs.checkpoints` returns: a job's checkpoints from the database
 * (so they survive a JobManager restart), newest first, with the
 * acknowledgement of every subtask for the latest completed one, and
 * duration figures over the completed ones shown.
 */
import { z } from 'zod';
import type { FreshetDatabase, SavepointKind } from '@freshet/db';
import { JobGraphSchema, StoredTextSchema, type CheckpointingSpec } from '@freshet/protocol';
import { notFound } from './scheduler.js';

/** Input of `jobs.checkpoints`. */
export const JobCheckpointsInputSchema = z.object({
  jobId: StoredTextSchema.min(1).max(100),
  /** How many of the newest checkpoints to list. */
  limit: z.int().min(1).max(1000).default(50),
});

/** One checkpoint. */
export interface CheckpointView {
  checkpointId: number;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** The job attempt it was triggered in. */
  attempt: number;
  triggeredAt: string;
  /** Completion, or the abort. */
  completedAt: string | null;
  durationMs: number | null;
  /** Full state size, bytes (Flink's "Full Checkpoint Data Size": pieces of earlier checkpoints included). */
  bytes: number | null;
  /**
   * Bytes this checkpoint wrote (Flink's "Checkpointed Data Size"): less
   * than `bytes` when incremental snapshots referred to earlier pieces.
   */
  checkpointedBytes: number | null;
  /** Longest barrier alignment of any subtask. */
  alignmentMs: number | null;
  acknowledged: number;
  total: number;
  failureCause: string | null;
  /** Where its `_metadata` is. */
  metadataPath: string | null;
  /** Retention deleted its data. */
  discarded: boolean;
  /**
   * Set when the checkpoint was copied out as a savepoint: what took it (a
   * savepoint on demand, a stop, a drain, a rescale) and its directory.
   */
  savepoint: { kind: SavepointKind | null; path: string | null } | null;
}

/** One subtask's acknowledgement. */
export interface CheckpointAckView {
  vertexId: string;
  subtaskIndex: number;
  attempt: number;
  ackedAt: string;
  bytes: number;
  /** Its final state (its input had ended). */
  final: boolean;
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
}

/** `jobs.checkpoints`. */
export interface JobCheckpointsView {
  jobId: string;
  /** The checkpointing the job runs with; null: none (a bounded job still ends with one final checkpoint). */
  checkpointing: CheckpointingSpec | null;
  /** `savepoints`: of the completed ones, those copied out as savepoints. */
  counts: { completed: number; failed: number; inProgress: number; savepoints: number };
  /** The newest completed checkpoint (the one a restart restores from), with every subtask's acknowledgement. */
  latest: (CheckpointView & { acks: CheckpointAckView[] }) | null;
  /** The newest savepoint (it may also be `latest`). */
  latestSavepoint: CheckpointView | null;
  /** Newest first. */
  history: CheckpointView[];
  /** Over the completed checkpoints in `history`. */
  durationMs: { p50: number; p99: number; max: number } | null;
}

type Row = Awaited<ReturnType<FreshetDatabase['prisma']['checkpoint']['findMany']>>[number];

const viewOf = (c: Row): CheckpointView => ({
  checkpointId: c.checkpointId,
  status: c.status,
  attempt: c.attempt,
  triggeredAt: c.triggeredAt.toISOString(),
  completedAt: c.completedAt?.toISOString() ?? null,
  durationMs: c.durationMs,
  bytes: c.stateSize === null ? null : Number(c.stateSize),
  checkpointedBytes: c.checkpointedSize === null ? null : Number(c.checkpointedSize),
  alignmentMs: c.alignmentMs,
  acknowledged: c.acknowledgedSubtasks,
  total: c.totalSubtasks,
  failureCause: c.failureCause,
  metadataPath: c.storagePath,
  discarded: c.discardedAt !== null,
  // Rows from before savepoint kinds were recorded know only that they were one.
  savepoint: c.isSavepoint ? { kind: c.savepointKind, path: c.savepointPath } : null,
});

/** The `q` quantile of ascending `sorted` (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `jobs.checkpoints`: NOT_FOUND for an unknown job. */
export async function getJobCheckpoints(
  db: FreshetDatabase,
  input: z.output<typeof JobCheckpointsInputSchema>,
): Promise<JobCheckpointsView> {
  const { prisma } = db;
  const job = await prisma.job.findUnique({ where: { id: input.jobId }, select: { jobGraph: true } });
  if (job === null) throw notFound(input.jobId);
  const [rows, groups, latestRow, savepoints, latestSavepoint] = await Promise.all([
    prisma.checkpoint.findMany({
      where: { jobId: input.jobId },
      orderBy: { checkpointId: 'desc' },
      take: input.limit,
    }),
    prisma.checkpoint.groupBy({ by: ['status'], where: { jobId: input.jobId }, _count: { _all: true } }),
    prisma.checkpoint.findFirst({
      where: { jobId: input.jobId, status: 'COMPLETED' },
      orderBy: { checkpointId: 'desc' },
      include: { acks: { orderBy: [{ vertexId: 'asc' }, { subtaskIndex: 'asc' }] } },
    }),
    prisma.checkpoint.count({ where: { jobId: input.jobId, status: 'COMPLETED', isSavepoint: true } }),
    prisma.checkpoint.findFirst({
      where: { jobId: input.jobId, status: 'COMPLETED', isSavepoint: true },
      orderBy: { checkpointId: 'desc' },
    }),
  ]);
  const counts = { completed: 0, failed: 0, inProgress: 0, savepoints };
  for (const g of groups) {
    if (g.status === 'COMPLETED') counts.completed = g._count._all;
    else if (g.status === 'FAILED') counts.failed = g._count._all;
    else counts.inProgress = g._count._all;
  }
  const durations = rows
    .filter((r) => r.status === 'COMPLETED' && r.durationMs !== null)
    .map((r) => r.durationMs!)
    .sort((a, b) => a - b);
  const graph = JobGraphSchema.safeParse(job.jobGraph);
  return {
    jobId: input.jobId,
    checkpointing: graph.success ? (graph.data.checkpointing ?? null) : null,
    counts,
    latest:
      latestRow === null
        ? null
        : {
            ...viewOf(latestRow),
            acks: latestRow.acks.map((a) => ({
              vertexId: a.vertexId,
              subtaskIndex: a.subtaskIndex,
              attempt: a.attempt,
              ackedAt: a.ackedAt.toISOString(),
              bytes: Number(a.stateSize),
              final: a.isFinal,
              alignmentMs: a.alignmentMs,
              syncMs: a.syncMs,
              asyncMs: a.asyncMs,
            })),
          },
    latestSavepoint: latestSavepoint === null ? null : viewOf(latestSavepoint),
    history: rows.map(viewOf),
    durationMs:
      durations.length === 0
        ? null
        : { p50: quantile(durations, 0.5), p99: quantile(durations, 0.99), max: durations.at(-1)! },
  };
}
