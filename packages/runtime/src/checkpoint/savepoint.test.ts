import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobGraph } from '@freshet/graph';
import { keyGroupRange } from '../keygroups.js';
import type { OperatorSnapshot } from '../operator.js';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { DirectoryCheckpointStorage } from './directory-storage.js';
import { checkpointMetadataOf } from './metadata.js';
import {
  assignRestoredState,
  inspectRestorePoint,
  openRestorePoint,
  renumberSnapshot,
  resolveInside,
  RestorePointError,
  StateMappingError,
  writeSavepoint,
} from './savepoint.js';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from './snapshot-codec.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'freshet-savepoint-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A completed checkpoint of keyedSum at p=2 in a directory storage: keyed state in every key group a subtask owns. */
async function storedCheckpoint(
  p: number,
): Promise<{ storage: DirectoryCheckpointStorage; jobGraph: JobGraph }> {
  const { jobGraph } = fixtureJob('keyedSum', { p });
  const storage = new DirectoryCheckpointStorage(join(root, 'checkpoints'));
  const states = new Map<string, { handle: string; bytes: number; final: boolean }>();
  for (const v of jobGraph.vertices) {
    for (let s = 0; s < v.parallelism; s++) {
      const snapshots = new Map<number, OperatorSnapshot>();
      for (const o of v.operators) {
        const range = keyGroupRange(v.maxParallelism, v.parallelism, s);
        const keyed: Record<number, unknown> = {};
        if (o.kind === 'reduce')
          for (let kg = range.start; kg <= range.end; kg++) keyed[kg] = { sum: [[`k${kg}`, kg]] };
        snapshots.set(o.nodeId, o.kind === 'reduce' ? { keyed } : { operator: { subtask: s } });
      }
      const bytes = encodeSubtaskSnapshot(snapshots);
      const handle = await storage.writeState(
        { jobId: 'job-1', checkpointId: 5, attempt: 0, vertexId: v.id, subtask: s },
        bytes,
      );
      states.set(`${v.id}#${s}`, { handle, bytes: bytes.byteLength, final: false });
    }
  }
  await storage.writeMetadata(
    checkpointMetadataOf(jobGraph, {
      jobId: 'job-1',
      checkpointId: 5,
      attempt: 0,
      triggeredAt: 1,
      completedAt: 2,
      states,
    }),
  );
  return { storage, jobGraph };
}

describe('savepoints', () => {
  it('are a self-contained directory that restores at another parallelism by key group', async () => {
    const { storage } = await storedCheckpoint(2);
    const metadata = await storage.readMetadata('job-1', 5);
    const dir = join(root, 'savepoints', 'sp-1');
    const written = await writeSavepoint(dir, metadata, 'savepoint', (h) => storage.readState('job-1', h));
    expect(written).toMatchObject({
      format: 'freshet-savepoint',
      version: 1,
      checkpointId: 5,
      trigger: 'savepoint',
    });
    // Self-contained: the checkpoint storage can go.
    await rm(join(root, 'checkpoints'), { recursive: true });
    const point = await openRestorePoint('sp-1', [join(root, 'savepoints')]);
    expect(point.kind).toBe('savepoint');
    expect(point.metadata.vertices[1]!.operators.map((o) => o.uid)).toEqual(['auto-3', 'auto-4']);

    const wider = fixtureJob('keyedSum', { p: 3 }).jobGraph;
    const assignment = assignRestoredState(point.metadata, wider);
    expect(assignment.dropped).toEqual([]);
    expect(assignment.generated).toContain('auto-3');
    const reduce = wider.vertices[1]!;
    // Every key group ends up with exactly the new subtask that owns it.
    for (let s = 0; s < 3; s++) {
      const mine = keyGroupRange(reduce.maxParallelism, 3, s);
      const parts = assignment.subtasks.get(`${reduce.id}#${s}`)!.parts;
      const groups = new Set<number>();
      for (const part of parts) {
        const decoded = decodeSubtaskSnapshot(renumberSnapshot(await point.readState(part.handle), part));
        for (const kg of Object.keys(decoded.get(3)?.keyed ?? {})) groups.add(Number(kg));
      }
      for (let kg = mine.start; kg <= mine.end; kg++) expect(groups.has(kg)).toBe(true);
    }
    // 2→3: the middle subtask overlaps both former ones, but each former subtask's split operator
    // state (a sink's pending commits) has exactly one owner; the other parts are marked copies.
    const owners = new Map<string, number>();
    for (let s = 0; s < 3; s++) {
      for (const part of assignment.subtasks.get(`${reduce.id}#${s}`)!.parts) {
        const decoded = decodeSubtaskSnapshot(renumberSnapshot(await point.readState(part.handle), part));
        expect(decoded.get(3)?.copy).toBe(part.copy);
        if (part.copy !== true) owners.set(part.handle, (owners.get(part.handle) ?? 0) + 1);
      }
    }
    expect([...owners.values()]).toEqual([1, 1]);
    expect(assignment.subtasks.get(`${reduce.id}#1`)!.parts.map((p) => p.copy === true)).toEqual([
      true,
      false,
    ]);
    const inspected = await inspectRestorePoint(point);
    expect(inspected[1]!.subtasks[0]!.operators[0]).toMatchObject({
      uid: 'auto-3',
      keyGroups: 64,
      states: { sum: 64 },
    });
  });

  it("give a rescaled source vertex's source operator every former subtask's state, its chained operators only the overlapping ones", async () => {
    const { storage } = await storedCheckpoint(2);
    const metadata = await storage.readMetadata('job-1', 5);
    const point = {
      metadata: await writeSavepoint(join(root, 'savepoints', 'sp-union'), metadata, 'savepoint', (h) =>
        storage.readState('job-1', h),
      ),
    };
    for (const p of [3, 1]) {
      const rescaled = fixtureJob('keyedSum', { p }).jobGraph;
      const source = rescaled.vertices[0]!;
      expect(source.isSource).toBe(true);
      const assignment = assignRestoredState(point.metadata, rescaled);
      for (let s = 0; s < p; s++) {
        const parts = assignment.subtasks.get(`${source.id}#${s}`)!.parts;
        // The source (node 1) from both former subtasks: a connector source keeps the splits it owns now,
        // wherever they were read before.
        expect(parts.filter((part) => part.nodes.has(1))).toHaveLength(2);
        // The chained map (node 2) only from the former subtasks whose key groups overlap.
        const mine = keyGroupRange(source.maxParallelism, p, s);
        const overlapping = [0, 1].filter((o) => {
          const r = keyGroupRange(source.maxParallelism, 2, o);
          return r.start <= mine.end && mine.start <= r.end;
        });
        expect(parts.filter((part) => part.nodes.has(2))).toHaveLength(overlapping.length);
      }
    }
  });

  it('fail a restore naming the operator whose state has no place, unless non-restored state is allowed', async () => {
    const { storage, jobGraph } = await storedCheckpoint(2);
    const metadata = await storage.readMetadata('job-1', 5);
    const dir = join(root, 'savepoints', 'sp');
    const point = {
      metadata: await writeSavepoint(dir, metadata, 'stop', (h) => storage.readState('job-1', h)),
    };
    const changed: JobGraph = {
      ...jobGraph,
      vertices: jobGraph.vertices.map((v) => ({
        ...v,
        operators: v.operators.map((o) => (o.nodeId === 3 ? { ...o, uid: 'new-sum' } : o)),
      })),
    };
    expect(() => assignRestoredState(point.metadata, changed)).toThrow(StateMappingError);
    expect(() => assignRestoredState(point.metadata, changed)).toThrow(
      /'auto-3'.*--allow-non-restored-state/,
    );
    const allowed = assignRestoredState(point.metadata, changed, { allowNonRestoredState: true });
    expect(allowed.dropped).toEqual(['auto-3']);
    expect(allowed.fresh).toEqual(['new-sum']);
    const otherKeyGroups: JobGraph = {
      ...jobGraph,
      vertices: jobGraph.vertices.map((v) => ({ ...v, parallelism: 3, maxParallelism: 64 })),
    };
    expect(() => assignRestoredState(point.metadata, otherKeyGroups)).toThrow(
      /max parallelism 128 and now 64/,
    );
  });

  it('also restore from a retained checkpoint directory', async () => {
    const { jobGraph } = await storedCheckpoint(2);
    const point = await openRestorePoint(join(root, 'checkpoints', 'job-1', 'chk-5'), [
      join(root, 'savepoints'),
      join(root, 'checkpoints'),
    ]);
    expect(point.kind).toBe('checkpoint');
    const assignment = assignRestoredState(point.metadata, jobGraph);
    const part = assignment.subtasks.get(`${jobGraph.vertices[1]!.id}#1`)!.parts;
    expect(part).toHaveLength(1);
    expect((await point.readState(part[0]!.handle)).byteLength).toBeGreaterThan(8);
  });

  it('refuse paths outside the roots, missing, corrupt and foreign metadata, and an occupied directory', async () => {
    const sp = join(root, 'savepoints');
    expect(() => resolveInside(sp, '../etc', '--dir')).toThrow(RestorePointError);
    expect(() => resolveInside(sp, '/etc', '--dir')).toThrow(/outside/);
    expect(resolveInside(sp, 'a/b', '--dir')).toBe(join(sp, 'a', 'b'));
    await expect(openRestorePoint('/etc', [sp])).rejects.toThrow(/outside the directories/);
    await expect(openRestorePoint('../x', [sp])).rejects.toThrow(RestorePointError);
    await expect(openRestorePoint('nope', [sp])).rejects.toThrow(/holds no savepoint/);
    await mkdir(join(sp, 'bad'), { recursive: true });
    await writeFile(join(sp, 'bad', '_metadata'), '{not json');
    await expect(openRestorePoint('bad', [sp])).rejects.toThrow(/is not JSON/);
    await writeFile(join(sp, 'bad', '_metadata'), JSON.stringify({ format: 'flink', version: 3 }));
    await expect(openRestorePoint('bad', [sp])).rejects.toThrow(/not a Freshet savepoint/);
    await writeFile(
      join(sp, 'bad', '_metadata'),
      JSON.stringify({ format: 'freshet-savepoint', version: 9 }),
    );
    await expect(openRestorePoint('bad', [sp])).rejects.toThrow(/version 9/);
    await writeFile(
      join(sp, 'bad', '_metadata'),
      JSON.stringify({ format: 'freshet-savepoint', version: 1 }),
    );
    await expect(openRestorePoint('bad', [sp])).rejects.toThrow(/is invalid/);

    const { storage } = await storedCheckpoint(2);
    const metadata = await storage.readMetadata('job-1', 5);
    const dir = join(sp, 'good');
    await writeSavepoint(dir, metadata, 'savepoint', (h) => storage.readState('job-1', h));
    await expect(
      writeSavepoint(dir, metadata, 'savepoint', (h) => storage.readState('job-1', h)),
    ).rejects.toThrow(/already holds a savepoint/);
    // A handle smuggled into the metadata cannot leave the savepoint.
    const text = (await readFile(join(dir, '_metadata'), 'utf8')).replace(
      /"v\d+-0\.state"/,
      '"../../../etc/passwd"',
    );
    await writeFile(join(dir, '_metadata'), text);
    const point = await openRestorePoint('good', [sp]);
    await expect(inspectRestorePoint(point)).rejects.toThrow(/points outside the savepoint/);
    // A corrupt state file is named.
    await writeFile(join(dir, '_metadata'), text.replace('"../../../etc/passwd"', '"_metadata"'));
    await expect(inspectRestorePoint(await openRestorePoint('good', [sp]))).rejects.toThrow(/is corrupt/);
  });
});
