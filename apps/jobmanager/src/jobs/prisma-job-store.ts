import type { FreshetDatabase, Prisma } from '@freshet/db';
import {
  JobGraphSchema,
  planOverridesOf,
  PlanOverridesSchema,
  RestartStrategySpecSchema,
  type ExecutionError,
} from '@freshet/protocol';
import { z } from 'zod';
import {
  executionKey,
  StatePieceSchema,
  type CompletedCheckpoint,
  type SubtaskCheckpointStats,
} from '@freshet/runtime';

/** The `pieces` column of a checkpoint acknowledgement (JSON written by this store). */
const StatePiecesSchema = z.array(StatePieceSchema);
import { TERMINAL } from './execution-graph.js';
import type { JobEventInput, JobStore, NewJob, StoredJob } from './job-store.js';

const UNFINISHED = ['CREATED', 'RUNNING', 'RESTARTING', 'FAILING', 'CANCELLING'] as const;

const errorText = (e: ExecutionError): string =>
  e.stack !== undefined && e.stack.length > 0 ? e.stack : `${e.name}: ${e.message}`;

/** {@link JobStore} over the metadata database. */
export function prismaJobStore(db: FreshetDatabase): JobStore {
  const { prisma } = db;

  return {
    async createJob(job: NewJob) {
      const g = job.jobGraph;
      await prisma.$transaction([
        prisma.job.create({
          data: {
            id: job.id,
            name: job.name,
            status: 'CREATED',
            parallelism: g.parallelism,
            maxParallelism: g.maxParallelism,
            runtimeMode: job.runtimeMode,
            arguments: job.program.args,
            planHash: job.planHash,
            artifactId: job.artifactId,
            createdAt: job.createdAt,
            jobGraph: g,
            planOverrides: planOverridesOf(job.program),
            restartStrategy: job.restartStrategy,
            restoredFrom: job.restoredFrom ?? null,
          },
        }),
        prisma.jobVertex.createMany({
          data: g.vertices.map((v) => ({
            jobId: job.id,
            vertexId: v.id,
            name: v.name,
            parallelism: v.parallelism,
            maxParallelism: v.maxParallelism,
            operators: v.operators,
            slotSharingGroup: v.slotSharingGroup,
          })),
        }),
        prisma.jobEdge.createMany({
          data: g.edges.map((e) => ({
            jobId: job.id,
            sourceVertexId: e.source,
            targetVertexId: e.target,
            partitioning: e.partitioning,
            inputIndex: e.inputIndex,
            outputTag: e.sideOutput ?? null,
          })),
        }),
        prisma.execution.createMany({
          data: job.executions.map((e) => ({
            id: e.id,
            jobId: job.id,
            vertexId: e.vertexId,
            subtaskIndex: e.subtask,
            attempt: e.attempt,
            state: e.state,
            createdAt: job.createdAt,
          })),
        }),
        prisma.jobEvent.create({
          data: { jobId: job.id, at: job.createdAt, kind: 'INFO', message: job.message },
        }),
      ]);
    },

    async recordTransitions(jobId, transitions, at) {
      if (transitions.length === 0) return;
      const ops: Prisma.PrismaPromise<unknown>[] = [];
      for (const t of transitions) {
        const e = t.execution;
        const data: Prisma.ExecutionUncheckedUpdateInput = { state: t.to };
        if (t.to === 'SCHEDULED') {
          data.taskManagerId = e.taskManagerId;
          data.slotIndex = e.slotIndex;
        }
        if (t.to === 'DEPLOYING') data.deployedAt = at;
        if (t.to === 'RUNNING') data.startedAt = at;
        if (TERMINAL.has(t.to)) data.endedAt = at;
        const failure = t.error !== undefined ? errorText(t.error) : t.cause;
        if (t.to === 'FAILED' && failure !== undefined) data.failureCause = failure;
        ops.push(prisma.execution.update({ where: { id: e.id }, data }));
        const where = e.taskManagerId === null ? '' : ` on ${e.taskManagerId}`;
        const attempt = e.attempt > 0 ? ` (attempt ${e.attempt})` : '';
        ops.push(
          prisma.jobEvent.create({
            data: {
              jobId,
              at,
              kind: 'STATE',
              executionId: e.id,
              fromState: t.from,
              toState: t.to,
              message: `${t.name}${attempt}${where} switched from ${t.from} to ${t.to}${t.cause !== undefined ? `: ${t.cause}` : ''}`,
            },
          }),
        );
        if (t.to === 'FAILED' && t.error !== undefined) {
          const operator = t.error.operator !== undefined ? ` in '${t.error.operator}'` : '';
          ops.push(
            prisma.jobEvent.create({
              data: {
                jobId,
                at,
                kind: 'EXCEPTION',
                executionId: e.id,
                message: `${t.name}${where} failed${operator}: ${t.error.name}: ${t.error.message}`,
                stackTrace: t.error.stack ?? null,
              },
            }),
          );
        }
      }
      await prisma.$transaction(ops);
    },

    async createAttempt(jobId, executions, counters, at) {
      await prisma.$transaction([
        prisma.execution.createMany({
          data: executions.map((e) => ({
            id: e.id,
            jobId,
            vertexId: e.vertexId,
            subtaskIndex: e.subtask,
            attempt: e.attempt,
            state: e.state,
            createdAt: at,
          })),
        }),
        prisma.job.update({ where: { id: jobId }, data: counters }),
      ]);
    },

    async setStatus(jobId, jobName, change, why, { archived, ...fields }, at) {
      const results =
        archived === undefined
          ? {}
          : {
              collected: archived.collected as Prisma.InputJsonValue,
              metrics: archived.metrics as Prisma.InputJsonValue,
            };
      await prisma.$transaction([
        prisma.job.update({ where: { id: jobId }, data: { status: change.to, ...fields, ...results } }),
        prisma.jobEvent.create({
          data: {
            jobId,
            at,
            kind: 'STATE',
            fromState: change.from,
            toState: change.to,
            message: `Job '${jobName}' switched from ${change.from} to ${change.to}: ${why}`,
          },
        }),
      ]);
    },

    async recordEvent(jobId, event: JobEventInput, at) {
      await prisma.jobEvent.create({
        data: {
          jobId,
          at,
          kind: event.kind,
          message: event.message,
          stackTrace: event.stackTrace ?? null,
          executionId: event.executionId ?? null,
        },
      });
    },

    async setFailureCause(jobId, cause) {
      await prisma.job.update({ where: { id: jobId }, data: { failureCause: cause } });
    },

    async archive(jobId, { collected, metrics }) {
      await prisma.job.update({
        where: { id: jobId },
        data: {
          collected: collected as Prisma.InputJsonValue,
          metrics: metrics as Prisma.InputJsonValue,
        },
      });
    },

    async failureCauseOf(executionId) {
      const row = await prisma.execution.findUnique({
        where: { id: executionId },
        select: { failureCause: true },
      });
      return row?.failureCause ?? null;
    },

    async jobStatus(jobId) {
      const row = await prisma.job.findUnique({ where: { id: jobId }, select: { status: true } });
      return row?.status ?? null;
    },

    async unfinishedJobs() {
      const rows = await prisma.job.findMany({
        where: { status: { in: [...UNFINISHED] } },
        orderBy: { createdAt: 'asc' },
        include: {
          artifact: { select: { bundleSha: true } },
          executions: { orderBy: [{ vertexId: 'asc' }, { subtaskIndex: 'asc' }, { attempt: 'asc' }] },
        },
      });
      const out: StoredJob[] = [];
      for (const row of rows) {
        const jobGraph = JobGraphSchema.safeParse(row.jobGraph);
        if (!jobGraph.success) continue;
        const overrides = PlanOverridesSchema.safeParse(row.planOverrides ?? {});
        const strategy = RestartStrategySpecSchema.safeParse(row.restartStrategy);
        const newest = new Map<string, (typeof row.executions)[number]>();
        for (const e of row.executions) newest.set(executionKey(e.vertexId, e.subtaskIndex), e);
        out.push({
          id: row.id,
          name: row.name,
          artifactId: row.artifactId,
          bundleSha256: row.artifact.bundleSha,
          runtimeMode: row.runtimeMode,
          planHash: row.planHash,
          jobGraph: jobGraph.data,
          program: { ...(overrides.success ? overrides.data : {}), args: row.arguments },
          restartStrategy: strategy.success ? strategy.data : { type: 'none' },
          ...(row.restoredFrom === null ? {} : { restoredFrom: row.restoredFrom }),
          status: row.status,
          attempt: row.attempt,
          restarts: row.restarts,
          executions: [...newest.values()].map((e) => ({
            id: e.id,
            vertexId: e.vertexId,
            subtask: e.subtaskIndex,
            attempt: e.attempt,
            state: e.state,
            taskManagerId: e.taskManagerId,
            slotIndex: e.slotIndex,
          })),
        });
      }
      return out;
    },

    async checkpointTriggered(jobId, checkpoint, totalSubtasks) {
      await prisma.checkpoint.create({
        data: {
          jobId,
          checkpointId: checkpoint.checkpointId,
          attempt: checkpoint.attempt,
          status: 'IN_PROGRESS',
          triggeredAt: new Date(checkpoint.triggeredAt),
          totalSubtasks,
        },
      });
    },

    async checkpointCompleted(jobId, c, storagePath, savepoint) {
      const where = { jobId_checkpointId: { jobId, checkpointId: c.checkpointId } };
      const completion = {
        status: 'COMPLETED' as const,
        isSavepoint: savepoint !== undefined,
        savepointKind: savepoint?.kind ?? null,
        savepointPath: savepoint?.path ?? null,
        storagePath,
        // Full size (pieces of earlier checkpoints included) and what this checkpoint wrote, as Flink shows them.
        stateSize: BigInt(c.fullBytes),
        checkpointedSize: BigInt(c.bytes),
        acknowledgedSubtasks: c.subtasks.length,
        completedAt: new Date(c.completedAt),
        durationMs: c.durationMs,
        alignmentMs: c.alignmentMs,
      };
      await prisma.$transaction([
        // A checkpoint completed without barriers (every subtask final) was never recorded as triggered.
        prisma.checkpoint.upsert({
          where,
          update: completion,
          create: {
            jobId,
            checkpointId: c.checkpointId,
            attempt: c.attempt,
            triggeredAt: new Date(c.triggeredAt),
            totalSubtasks: c.subtasks.length,
            ...completion,
          },
        }),
        prisma.checkpointAck.createMany({
          data: c.subtasks.map((s) => ({
            jobId,
            checkpointId: c.checkpointId,
            vertexId: s.vertexId,
            subtaskIndex: s.subtask,
            attempt: c.attempt,
            stateHandle: s.handle,
            stateSize: BigInt(s.bytes),
            isFinal: s.final,
            ...(s.pieces !== undefined && s.pieces.length > 0
              ? { pieces: s.pieces.map((p) => ({ ...p })) }
              : {}),
            ackedAt: new Date(s.ackedAt),
            alignmentMs: Math.round(s.alignmentMs),
            syncMs: Math.round(s.syncMs),
            asyncMs: Math.round(s.asyncMs),
          })),
        }),
      ]);
    },

    async abandonCheckpoints(jobId, reason, at) {
      await prisma.checkpoint.updateMany({
        where: { jobId, status: 'IN_PROGRESS' },
        data: { status: 'FAILED', failureCause: reason, completedAt: at },
      });
    },

    async checkpointFailed(jobId, checkpointId, reason, at) {
      await prisma.checkpoint.updateMany({
        where: { jobId, checkpointId, status: 'IN_PROGRESS' },
        data: { status: 'FAILED', failureCause: reason, completedAt: at },
      });
    },

    async checkpointsDiscarded(jobId, checkpointIds, at) {
      if (checkpointIds.length === 0) return;
      await prisma.checkpoint.updateMany({
        where: { jobId, checkpointId: { in: [...checkpointIds] } },
        data: { discardedAt: at },
      });
    },

    async retainedCheckpoints(jobId, limit) {
      const rows = await prisma.checkpoint.findMany({
        where: { jobId, status: 'COMPLETED', discardedAt: null },
        orderBy: { checkpointId: 'desc' },
        take: limit,
        include: { acks: true },
      });
      rows.reverse();
      return rows.map((row): CompletedCheckpoint => {
        const subtasks: SubtaskCheckpointStats[] = row.acks.map((a) => ({
          vertexId: a.vertexId,
          subtask: a.subtaskIndex,
          handle: a.stateHandle,
          bytes: Number(a.stateSize),
          final: a.isFinal,
          ...(a.pieces === null ? {} : { pieces: StatePiecesSchema.parse(a.pieces) }),
          ackedAt: a.ackedAt.getTime(),
          alignmentMs: a.alignmentMs,
          syncMs: a.syncMs,
          asyncMs: a.asyncMs,
        }));
        const triggeredAt = row.triggeredAt.getTime();
        const completedAt = row.completedAt?.getTime() ?? triggeredAt;
        return {
          jobId,
          checkpointId: row.checkpointId,
          attempt: row.attempt,
          triggeredAt,
          completedAt,
          states: new Map(
            subtasks.map((s) => [
              executionKey(s.vertexId, s.subtask),
              { handle: s.handle, bytes: s.bytes, final: s.final, pieces: s.pieces },
            ]),
          ),
          durationMs: row.durationMs ?? completedAt - triggeredAt,
          bytes: Number(row.checkpointedSize ?? row.stateSize ?? 0),
          fullBytes: Number(row.stateSize ?? 0),
          alignmentMs: row.alignmentMs ?? 0,
          subtasks,
        };
      });
    },

    async nextCheckpointId(jobId) {
      const top = await prisma.checkpoint.aggregate({ where: { jobId }, _max: { checkpointId: true } });
      return (top._max.checkpointId ?? 0) + 1;
    },
  };
}
