import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './open.js';
import { createTestDatabase, testPostgresAdminUrl } from './testing.js';
import { ExecutionState, JobEventKind, JobStatus } from './index.js';

describe(`openDatabase (${testPostgresAdminUrl() ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('stores and reads back a job with its graph, executions and events', async () => {
    await using t = await createTestDatabase();
    const { prisma } = t.db;
    expect(t.db.kind).toBe(t.url ? 'postgres' : 'pglite');
    const recorded = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY migration_name',
    );
    expect(recorded.map((r) => r.migration_name)).toEqual(t.db.migrations.known);

    const artifact = await prisma.artifact.create({
      data: {
        id: 'a'.repeat(64),
        fileName: 'wordcount.ts',
        size: 1234,
        bundleSha: 'b'.repeat(64),
        bundleSize: 4321,
      },
    });
    const job = await prisma.job.create({
      data: {
        name: 'wordcount',
        parallelism: 2,
        maxParallelism: 128,
        arguments: ['--input', 'words.txt'],
        planHash: 'p1',
        artifactId: artifact.id,
        vertices: {
          create: [
            {
              vertexId: 'v1',
              name: 'Source -> Map',
              parallelism: 2,
              maxParallelism: 128,
              operators: [{ id: 'op1' }],
            },
            {
              vertexId: 'v2',
              name: 'Window -> Sink',
              parallelism: 2,
              maxParallelism: 128,
              operators: [{ id: 'op2' }],
            },
          ],
        },
      },
    });
    await prisma.jobEdge.create({
      data: { jobId: job.id, sourceVertexId: 'v1', targetVertexId: 'v2', partitioning: 'HASH' },
    });
    await prisma.taskManager.create({
      data: { id: 'tm-1', host: '127.0.0.1', dataPort: 6121, controlAddress: '127.0.0.1:6122', slots: 2 },
    });
    for (const vertexId of ['v1', 'v2']) {
      for (const subtaskIndex of [0, 1]) {
        await prisma.execution.create({
          data: { jobId: job.id, vertexId, subtaskIndex, taskManagerId: 'tm-1', slotIndex: subtaskIndex },
        });
      }
    }
    const first = await prisma.execution.findFirstOrThrow({
      where: { jobId: job.id, vertexId: 'v1', subtaskIndex: 0 },
    });
    await prisma.execution.update({ where: { id: first.id }, data: { state: ExecutionState.RUNNING } });
    await prisma.jobEvent.createMany({
      data: [
        {
          jobId: job.id,
          kind: JobEventKind.STATE,
          fromState: 'CREATED',
          toState: 'RUNNING',
          message: 'job running',
        },
        {
          jobId: job.id,
          kind: JobEventKind.EXCEPTION,
          executionId: first.id,
          message: 'boom',
          stackTrace: 'Error: boom\n    at map (wordcount.ts:3:9)',
        },
      ],
    });
    await prisma.checkpoint.create({
      data: { jobId: job.id, checkpointId: 1, totalSubtasks: 4, stateSize: 5_000_000_000n },
    });
    await prisma.job.update({
      where: { id: job.id },
      data: { status: JobStatus.RUNNING, startedAt: new Date() },
    });

    const loaded = await prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: {
        artifact: true,
        vertices: { orderBy: { vertexId: 'asc' }, include: { inputs: true } },
        executions: { orderBy: [{ vertexId: 'asc' }, { subtaskIndex: 'asc' }] },
        events: { orderBy: { id: 'asc' } },
        checkpoints: true,
      },
    });
    expect(loaded.status).toBe('RUNNING');
    expect(loaded.arguments).toEqual(['--input', 'words.txt']);
    expect(loaded.artifact.fileName).toBe('wordcount.ts');
    expect(loaded.vertices.map((v) => [v.vertexId, v.slotSharingGroup, v.operators])).toEqual([
      ['v1', 'default', [{ id: 'op1' }]],
      ['v2', 'default', [{ id: 'op2' }]],
    ]);
    expect(loaded.vertices[1]!.inputs.map((e) => [e.sourceVertexId, e.partitioning, e.inputIndex])).toEqual([
      ['v1', 'HASH', 0],
    ]);
    expect(loaded.executions.map((e) => `${e.vertexId}#${e.subtaskIndex}:${e.attempt}:${e.state}`)).toEqual([
      'v1#0:0:RUNNING',
      'v1#1:0:CREATED',
      'v2#0:0:CREATED',
      'v2#1:0:CREATED',
    ]);
    expect(loaded.events.map((e) => [e.kind, e.message, e.executionId])).toEqual([
      ['STATE', 'job running', null],
      ['EXCEPTION', 'boom', first.id],
    ]);
    expect(loaded.checkpoints[0]).toMatchObject({
      checkpointId: 1,
      status: 'IN_PROGRESS',
      stateSize: 5_000_000_000n,
    });

    // A second attempt of the same subtask is a new row; a duplicate attempt is rejected.
    await prisma.execution.create({ data: { jobId: job.id, vertexId: 'v1', subtaskIndex: 0, attempt: 1 } });
    await expect(
      prisma.execution.create({ data: { jobId: job.id, vertexId: 'v1', subtaskIndex: 0, attempt: 1 } }),
    ).rejects.toThrow(/Unique constraint/);

    // Interactive transactions commit or roll back as a whole (the JobManager's state transitions rely on it).
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.job.update({ where: { id: job.id }, data: { status: JobStatus.FAILING } });
        await tx.jobEvent.create({ data: { jobId: job.id, kind: JobEventKind.STATE, message: 'failing' } });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('RUNNING');
    expect(await prisma.jobEvent.count({ where: { message: 'failing' } })).toBe(0);

    // Losing the TaskManager detaches its executions; deleting the job removes its whole history.
    await prisma.taskManager.delete({ where: { id: 'tm-1' } });
    expect(await prisma.execution.count({ where: { taskManagerId: { not: null } } })).toBe(0);
    await prisma.job.delete({ where: { id: job.id } });
    expect(
      await Promise.all([
        prisma.execution.count(),
        prisma.jobEvent.count(),
        prisma.jobVertex.count(),
        prisma.checkpoint.count(),
      ]),
    ).toEqual([0, 0, 0, 0]);
  });

  it.skipIf(testPostgresAdminUrl() !== undefined)(
    'reopens a persisted PGlite directory without re-applying migrations',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'freshet-db-reopen-'));
      try {
        {
          await using db = await openDatabase({ dataDir });
          await db.prisma.apiToken.create({ data: { name: 'ci', tokenHash: 'h'.repeat(64) } });
        }
        await using db = await openDatabase({ dataDir });
        expect(db.migrations.applied).toEqual([]);
        expect((await db.prisma.apiToken.findMany()).map((t) => t.name)).toEqual(['ci']);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );
});
