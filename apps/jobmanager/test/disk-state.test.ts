// The disk state backend with real processes: a JobManager and three
// one-slot TaskManagers run checkpointed jobs with `stateBackend: 'disk'`.
// Their keyed state lives in LMDB stores inside the sandboxed job processes
// (under each TaskManager's `work/spill`, removed when the job ends); a
// TaskManager killed with SIGKILL, the job restores from its checkpoint and
// commits exactly the clean output; a job rescaled 2→3 through a savepoint
// (`freshet rescale`) stays on the disk backend and commits exactly the
// output of an un-rescaled run; a job whose few changing keys make its
// checkpoints incremental survives kill -9 and a rescale through a
// (materialized) savepoint with exact output, and its checkpoint
// directories hold no piece that no retained checkpoint uses.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskManagerProcess } from '../src/testing.js';
import { fixture, submitFile, until, untilEnded } from './fixtures/cluster.js';
import {
  committedLines,
  expectedSums,
  sorted,
  startRecoveryCluster,
  untilCheckpoints,
  untilRestarted,
  untilStatus,
  type RecoveryCluster,
} from './fixtures/recovery.js';
import { expectedTotals } from './fixtures/rescalable.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));

let c: RecoveryCluster;
const tms: { tm: TaskManagerProcess; dataDir: string }[] = [];

/** One more one-slot TaskManager with a data directory of its own, where its jobs' stores can be looked for. */
async function addTaskManager(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'freshet-disk-state-tm-'));
  c.group.defer(() => rm(dataDir, { recursive: true, force: true }));
  tms.push({ tm: await c.addTaskManager(1, dataDir), dataDir });
}

beforeAll(async () => {
  c = await startRecoveryCluster({ taskManagers: 0 });
  for (let i = 0; i < 3; i++) await addTaskManager();
}, 120_000);
afterAll(async () => {
  await c?.group.dispose();
});

/** The disk backend's store directories under a TaskManager's data directory (`work/spill/<job dir>/freshet-state-*`). */
async function stateStores(dataDir: string): Promise<string[]> {
  const spill = join(dataDir, 'work', 'spill');
  const out: string[] = [];
  let jobs: string[];
  try {
    jobs = await readdir(spill);
  } catch {
    return out;
  }
  for (const job of jobs) {
    try {
      for (const name of await readdir(join(spill, job)))
        if (name.startsWith('freshet-state-')) out.push(join(job, name));
    } catch {
      // The job's directory went away meanwhile.
    }
  }
  return out;
}

async function allStateStores(): Promise<string[]> {
  const lists = await Promise.all(tms.filter((t) => t.tm.running).map((t) => stateStores(t.dataDir)));
  return lists.flat();
}

describe('a checkpointed job on the disk state backend', () => {
  it('keeps its state in stores inside the sandbox, survives kill -9 of a TaskManager and commits exactly the clean output', async () => {
    const count = 24_000;
    const out = await c.outputDir();
    const jobId = await submitFile(c.client, fixture('checkpointed-sum.ts'), {
      args: [out, String(count), '4000', '200'],
      parallelism: 2,
      stateBackend: 'disk',
    });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    expect(running.configuration.stateBackend).toBe('disk');
    await untilCheckpoints(c.client, jobId, 3);
    // The keyed sums (two subtasks) keep their state in LMDB stores of the job processes.
    const stores = await until(allStateStores, (s) => s.length >= 2, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the disk backend stores',
    });
    console.log(`disk state stores: ${stores.join(', ')}`);

    const victimId = running.subtasks.find((s) => s.vertexName.includes('Reduce'))?.taskManager?.id;
    const victim = tms.find(
      (t) => t.tm.taskManagerId === (victimId ?? running.subtasks[0]!.taskManager!.id),
    )!;
    await victim.tm.kill();
    const back = await untilRestarted(c.client, jobId);
    expect(back.events.some((e) => /from checkpoint \d+/.test(e.message))).toBe(true);

    const job = await untilEnded(c.client, jobId, { timeoutMs: 60_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    console.log(`committed ${lines.length} records, expected ${count}`);
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedSums(count)));
    // Every store went with its task (the killed TaskManager's with its process).
    await until(allStateStores, (s) => s.length === 0, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the disk backend stores to be removed',
    });
  }, 150_000);

  it('rescaled 2→3 through a savepoint (freshet rescale), stays on disk and commits exactly the un-rescaled output', async () => {
    // Two TaskManagers are left after the kill: one more for parallelism 3.
    await addTaskManager();
    const out = await c.outputDir();
    const count = 20_000;
    const jobId = await submitFile(c.client, fixture('rescalable.ts'), {
      args: [out, String(count), '1000', '200'],
      parallelism: 2,
      stateBackend: 'disk',
    });
    await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 3);
    const { stdout } = await run(
      process.execPath,
      [CLI, 'rescale', jobId, '-p', '3', '--json', '--jobmanager', c.jm.url, '--token', c.jm.adminToken],
      { timeout: 120_000 },
    );
    const result = JSON.parse(stdout) as { jobId: string; savepoint: string };
    const rescaled = await untilStatus(
      c.client,
      result.jobId,
      (j) => j.status === 'RUNNING',
      'the rescaled job',
    );
    expect(rescaled.configuration.stateBackend).toBe('disk');
    expect(rescaled.vertices.some((v) => v.parallelism === 3)).toBe(true);
    const job = await untilEnded(c.client, result.jobId, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    const expected = expectedTotals(count);
    console.log(`rescale 2→3 on disk: committed ${lines.length} records, expected ${expected.length}`);
    expect(lines.length).toBe(expected.length);
    expect(sorted(lines)).toEqual(sorted(expected));
  }, 180_000);

  it('takes incremental checkpoints of a job whose few keys change, restores them after kill -9 and through a rescale, and leaves no orphaned piece', async () => {
    // One TaskManager went with the first test's kill; the rescale test added one: three again.
    const out = await c.outputDir();
    // About 20 s at 2000 records/s: time for incremental checkpoints, the kill and the rescale before the end.
    const count = 40_000;
    const keys = 4000;
    // A tenth of the keys change in every interval, spread over every key group: only deltas make it small.
    const hot = 400;
    const jobId = await submitFile(c.client, fixture('sparse-updates.ts'), {
      args: [out, String(count), '2000', '200', String(keys), String(hot)],
      parallelism: 2,
      stateBackend: 'disk',
    });
    const running = await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    // Past the first 4000 records (every key created), checkpoints write only the hot keys, as deltas.
    const incremental = await until(
      () => c.client.jobs.checkpoints.query({ jobId }),
      (v) => v.history.some((h) => h.status === 'COMPLETED' && incrementalRatio(h) < DELTA_RATIO),
      { timeoutMs: 60_000, intervalMs: 100, what: 'an incremental checkpoint' },
    );
    const inc = incremental.history.find(
      (h) => h.status === 'COMPLETED' && incrementalRatio(h) < DELTA_RATIO,
    )!;
    console.log(
      `incremental checkpoint ${inc.checkpointId}: wrote ${inc.checkpointedBytes} of ${inc.bytes} bytes`,
    );
    await untilCheckpoints(c.client, jobId, incremental.counts.completed + 2);

    const victimId = running.subtasks.find((s) => s.vertexName.includes('Reduce'))?.taskManager?.id;
    const victim = tms.find((t) => t.tm.running && t.tm.taskManagerId === victimId)!;
    await victim.tm.kill();
    await untilRestarted(c.client, jobId);
    const afterKillView = await c.client.jobs.checkpoints.query({ jobId });
    const afterKill = afterKillView.counts.completed;
    const afterKillId = Math.max(0, ...afterKillView.history.map((h) => h.checkpointId));
    // Incremental again after the restore's first (full) checkpoint.
    const again = await untilCheckpoints(c.client, jobId, afterKill + 3);
    const restored = again.history.filter((h) => h.status === 'COMPLETED' && h.checkpointId > afterKillId);
    console.log(
      `after the restore: ${restored.map((h) => `${h.checkpointedBytes}/${h.bytes}`).join(', ')} bytes written/held`,
    );
    expect(restored.some((h) => incrementalRatio(h) < DELTA_RATIO)).toBe(true);

    await addTaskManager();
    const { stdout } = await run(
      process.execPath,
      [CLI, 'rescale', jobId, '-p', '3', '--json', '--jobmanager', c.jm.url, '--token', c.jm.adminToken],
      { timeout: 120_000 },
    );
    const result = JSON.parse(stdout) as { jobId: string; savepoint: string };
    // The savepoint holds all of its state itself: no file refers to an earlier piece.
    const savepoint = JSON.parse(await readFile(join(result.savepoint, '_metadata'), 'utf8')) as {
      vertices: { subtasks: { handle: string; pieces?: unknown[] }[] }[];
    };
    expect(savepoint.vertices.flatMap((v) => v.subtasks).every((s) => s.pieces === undefined)).toBe(true);
    const job = await untilEnded(c.client, result.jobId, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const lines = await committedLines(out);
    console.log(
      `sparse updates (kill -9, rescale 2→3): committed ${lines.length} records, expected ${count}`,
    );
    expect(lines.length).toBe(count);
    expect(sorted(lines)).toEqual(sorted(expectedSparseSums(count, keys, hot)));
    await expectNoOrphanedPieces(jobId);
    await expectNoOrphanedPieces(result.jobId);
  }, 240_000);
});

/**
 * Below this a checkpoint wrote deltas: a tenth of the keys changed in
 * every key group, so writing changed key groups whole would be about 1.
 */
const DELTA_RATIO = 0.4;

/** Bytes a checkpoint wrote over the bytes of all the state it holds. */
function incrementalRatio(h: { bytes: number | null; checkpointedBytes: number | null }): number {
  return h.bytes === null || h.checkpointedBytes === null || h.bytes === 0
    ? 1
    : h.checkpointedBytes / h.bytes;
}

/**
 * Every state file in the job's checkpoint directory is one a checkpoint
 * with a `_metadata` there uses (its own snapshot or a piece it refers to),
 * and every file those use exists.
 */
async function expectNoOrphanedPieces(jobId: string): Promise<void> {
  const jobDir = join(c.database.dataDir, 'checkpoints', jobId);
  const files = new Set<string>();
  const used = new Set<string>();
  for (const entry of await readdir(jobDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = join(entry.parentPath, entry.name).slice(jobDir.length + 1);
    if (entry.name !== '_metadata') {
      files.add(rel);
      continue;
    }
    const metadata = JSON.parse(await readFile(join(jobDir, rel), 'utf8')) as {
      vertices: { subtasks: { handle: string; pieces?: { handle: string }[] }[] }[];
    };
    for (const s of metadata.vertices.flatMap((v) => v.subtasks)) {
      used.add(s.handle);
      for (const p of s.pieces ?? []) used.add(p.handle);
    }
  }
  expect([...files].filter((f) => !used.has(f)).sort(), 'orphaned pieces').toEqual([]);
  expect([...used].filter((f) => !files.has(f)).sort(), 'missing pieces').toEqual([]);
}

/** What `sparse-updates.ts` writes: every record's running sum of its key, as JSON lines. */
function expectedSparseSums(count: number, keys: number, hot: number): string[] {
  const sums = new Map<number, number>();
  const out: string[] = [];
  for (let x = 0; x < count; x++) {
    const k = x < keys ? x : x % hot;
    const v = (sums.get(k) ?? 0) + x;
    sums.set(k, v);
    out.push(JSON.stringify({ k, v }));
  }
  return out;
}
