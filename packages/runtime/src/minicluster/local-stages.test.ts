/**
 * The mini-cluster runs a BATCH job with blocking exchanges in stages: real
 * worker threads, a probe in each stage writing its lifecycle to files, a
 * small partition memory budget so partitions spill, and a stage-2 function
 * that fails once.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureJob, type FixtureParams } from '../testing/fixture-graphs.js';
import { runLocalJob, type LocalJobOptions, type LocalRestart } from './mini-cluster.js';
import { computeStages } from '../executiongraph/pipelined-regions.js';

const root = mkdtempSync(join(tmpdir(), 'freshet-local-stages-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
let runs = 0;
const fresh = (name: string): string => {
  const dir = join(root, `${name}-${++runs}`);
  mkdirSync(dir);
  return dir;
};

const N = 20_000;
/** The final sum of every key of the staged fixture (`x % 50` over 0..N-1). */
const expectedSums = Array.from({ length: 50 }, (_, k) => {
  let v = 0;
  for (let x = k; x < N; x += 50) v += x;
  return { k, v };
});
const sorted = (values: unknown[]): { k: number; v: number }[] =>
  (values as { k: number; v: number }[]).slice().sort((a, b) => a.k - b.k);

interface StageTwoOpen {
  subtask: number;
  attempt: number;
  files: string[];
  spilled: string[];
}
const stageTwoOpens = (probeDir: string): StageTwoOpen[] =>
  readFileSync(join(probeDir, 's2-open'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StageTwoOpen);
const stageOneOpens = (probeDir: string): string[] =>
  readFileSync(join(probeDir, 's1-open'), 'utf8').split('\n').filter(Boolean).sort();

async function runStaged(params: FixtureParams, extra: Partial<LocalJobOptions> = {}) {
  const probeDir = fresh('probe');
  const partitionDir = fresh('partitions');
  const waves: number[][] = [];
  const restarts: LocalRestart[] = [];
  const fx = fixtureJob('staged', { n: N, p: 2, ...params, probeDir, partitionDir });
  const result = await runLocalJob({
    ...fx,
    slots: 2,
    timeoutMs: 60_000,
    partitionDir,
    onStageWave: (regions) => waves.push([...regions]),
    onRestart: (r) => restarts.push(r),
    ...extra,
  });
  return { result, probeDir, partitionDir, waves, restarts, jobGraph: fx.jobGraph };
}

describe('runLocalJob runs a BATCH job with blocking exchanges in stages', () => {
  it('starts stage 2 only after stage 1 finished and its workers exited, spills past the budget, and cleans up', async () => {
    const { result, probeDir, partitionDir, waves, jobGraph } = await runStaged(
      {},
      { partitionMemoryBytes: 4096 },
    );
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    expect(sorted(result.collected.sums!)).toEqual(expectedSums);
    // Two waves: the regions of stage 1 (source -> stage1, one per subtask), then those of stage 2.
    const stages = computeStages(jobGraph)!;
    expect(waves).toEqual([
      stages.regions.filter((r) => r.upstream.length === 0).map((r) => r.index),
      stages.regions.filter((r) => r.upstream.length > 0).map((r) => r.index),
    ]);
    expect(waves.map((w) => w.length)).toEqual([2, 2]);
    const opens = stageTwoOpens(probeDir);
    expect(opens.map((o) => o.subtask).sort()).toEqual([0, 1]);
    for (const o of opens) {
      // Every stage-1 subtask had closed and its worker thread had exited before any stage-2 operator opened.
      expect(o.files).toEqual(
        expect.arrayContaining(['s1-open', 's1-close-0', 's1-close-1', 's1-exit-0', 's1-exit-1']),
      );
      // With a 4 KiB budget the blocking partitions were on disk by then.
      expect(o.spilled.filter((f) => f.endsWith('.partition')).length).toBeGreaterThan(0);
    }
    expect(stageOneOpens(probeDir)).toEqual(['0', '1']);
    // Staged jobs take no checkpoints, and the spilled partitions are gone with the job.
    expect(result.checkpoints).toEqual([]);
    expect(readdirSync(partitionDir)).toEqual([]);
  }, 90_000);

  it('keeps partitions in memory within the budget (nothing spills)', async () => {
    const { result, probeDir, partitionDir } = await runStaged({});
    expect(result.status).toBe('FINISHED');
    expect(sorted(result.collected.sums!)).toEqual(expectedSums);
    for (const o of stageTwoOpens(probeDir)) expect(o.spilled).toEqual([]);
    expect(readdirSync(partitionDir)).toEqual([]);
  }, 90_000);

  it('re-runs only the failed stage-2 region, which reads the stage-1 partitions again', async () => {
    const marker = join(fresh('marker'), 'failed');
    const { result, probeDir, partitionDir, restarts, jobGraph } = await runStaged(
      { failKey: 7, marker, restart: { type: 'fixed-delay', attempts: 2, delayMs: 20 } },
      { partitionMemoryBytes: 4096 },
    );
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    expect(existsSync(marker)).toBe(true);
    expect(result.restarts).toBe(1);
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.error.message).toContain('stage 2 fails once at key 7');
    const stages = computeStages(jobGraph)!;
    const failed = stages.regions[restarts[0]!.region!]!;
    expect(failed.upstream.length).toBeGreaterThan(0);
    // Exactly one result per key: the failed run's records were not collected.
    expect(sorted(result.collected.sums!)).toEqual(expectedSums);
    // Stage 1 ran once per subtask, never again.
    expect(stageOneOpens(probeDir)).toEqual(['0', '1']);
    // Stage 2: both subtasks once, and the failed one again as the next attempt.
    const opens = stageTwoOpens(probeDir);
    expect(opens).toHaveLength(3);
    const rerun = opens.filter((o) => o.attempt === 1);
    expect(rerun).toHaveLength(1);
    expect(failed.executions.map((e) => e.subtask)).toContain(rerun[0]!.subtask);
    expect(readdirSync(partitionDir)).toEqual([]);
  }, 90_000);

  it('fails with the error when the strategy does not restart, and removes the partitions', async () => {
    const marker = join(fresh('marker'), 'failed');
    const { result, partitionDir } = await runStaged(
      { failKey: 3, marker },
      { partitionMemoryBytes: 4096, restartStrategy: { type: 'none' } },
    );
    expect(result.status).toBe('FAILED');
    expect(result.restarts).toBe(0);
    expect(result.error?.message).toContain('stage 2 fails once at key 3');
    expect(readdirSync(partitionDir)).toEqual([]);
  }, 90_000);

  it('cancels a staged job and removes its partitions', async () => {
    const controller = new AbortController();
    const { result, partitionDir } = await runStaged(
      { n: 500_000 },
      {
        partitionMemoryBytes: 4096,
        signal: controller.signal,
        onStageWave: (regions) => {
          // Cancel while stage 2 runs (stage 1's partitions are on disk then).
          if (regions.includes(2))
            setTimeout(() => {
              controller.abort();
            }, 50);
        },
      },
    );
    expect(result.status).toBe('CANCELED');
    expect(readdirSync(partitionDir)).toEqual([]);
  }, 90_000);

  it('runs a STREAMING job, and a BATCH job without blocking edges, pipelined as before', async () => {
    const waves: number[][] = [];
    const onStageWave = (regions: readonly number[]): void => {
      waves.push([...regions]);
    };
    const streaming = fixtureJob('keyedSum', { n: 5000, p: 2 });
    const s = await runLocalJob({ ...streaming, slots: 2, onStageWave });
    expect(s.status).toBe('FINISHED');
    // The pipelined run ends through its final checkpoint; a staged one takes none.
    expect(s.checkpoints.at(-1)?.final).toBe(true);
    const forwardOnly = fixtureJob('throwing', { n: 100, p: 2 });
    const jobGraph = { ...forwardOnly.jobGraph, runtimeMode: 'BATCH' as const };
    expect(computeStages(jobGraph)).toBeUndefined();
    const b = await runLocalJob({ ...forwardOnly, jobGraph, slots: 2, onStageWave });
    expect(b.status).toBe('FINISHED');
    expect(b.checkpoints.at(-1)?.final).toBe(true);
    expect(waves).toEqual([]);
  }, 90_000);
});
