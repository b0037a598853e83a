// Two TaskManagers' parts of one job in one process, connected over real sockets.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { fixtureJob, type FixtureParams } from '../testing/fixture-graphs.js';
import { DataPlane } from '../network/tcp/data-plane.js';
import { computePipelinedRegions, computeStages } from '../executiongraph/pipelined-regions.js';
import { PartitionStore } from '../network/partition/partition-store.js';
import { ChannelTopology } from '../network/topology.js';
import { ClusterJob, type ClusterJobStatus, type ClusterSubtaskUpdate } from './cluster-job.js';

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.close()));
});

interface Side {
  job: ClusterJob;
  states: ClusterSubtaskUpdate[];
  collected: Record<string, unknown[]>;
  metrics: number;
}

async function runOnTwo(
  name: string,
  params: FixtureParams,
  jobId: string,
): Promise<{ a: Side; b: Side; status: ClusterJobStatus[] }> {
  const fx = fixtureJob(name, params);
  const a = await DataPlane.listen();
  const b = await DataPlane.listen();
  planes.push(a, b);
  const slots = [
    { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port },
    { taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port },
  ];
  const side = (self: string, plane: DataPlane): Side => {
    const s: Side = { states: [], collected: {}, metrics: 0, job: undefined as unknown as ClusterJob };
    s.job = new ClusterJob({
      jobId,
      attempt: 0,
      self,
      program: fx.program,
      jobGraph: fx.jobGraph,
      slots,
      dataPlane: plane,
      dataPlaneSecret: 'the-attempt-secret-0123456789',
      loader: fx.loader,
      listener: {
        onStates: (u) => s.states.push(...u),
        onMetrics: (m) => {
          s.metrics += m.length;
        },
        onCollected: (id, values) => (s.collected[id] ??= []).push(...values),
      },
    });
    return s;
  };
  const sa = side('tm-a', a);
  const sb = side('tm-b', b);
  sa.job.start();
  sb.job.start();
  const status = await Promise.all([sa.job.done, sb.job.done]);
  return { a: sa, b: sb, status };
}

describe('ClusterJob', () => {
  it('runs a keyed job at parallelism 4 across two TaskManagers with the local result', async () => {
    const params = { n: 20_000, p: 4 };
    const { a, b, status } = await runOnTwo('keyedSum', params, 'keyed');
    expect(status).toEqual(['FINISHED', 'FINISHED']);
    expect(new Set(a.job.subtasks.map((t) => t.subtask))).toEqual(new Set([0, 2]));
    expect(new Set(b.job.subtasks.map((t) => t.subtask))).toEqual(new Set([1, 3]));
    for (const s of [a, b]) {
      const byTask = new Map<string, string[]>();
      for (const u of s.states)
        byTask.set(`${u.vertexId}#${u.subtask}`, [
          ...(byTask.get(`${u.vertexId}#${u.subtask}`) ?? []),
          u.state,
        ]);
      for (const seq of byTask.values()) expect(seq).toEqual(['INITIALIZING', 'RUNNING', 'FINISHED']);
    }
    const fx = fixtureJob('keyedSum', params);
    const local = await runLocalJob({ ...fx, slots: 2 });
    const final = (values: unknown[]): Record<number, number> => {
      const out: Record<number, number> = {};
      for (const r of values as { k: number; v: number }[]) out[r.k] = Math.max(out[r.k] ?? 0, r.v);
      return out;
    };
    const cluster = [...(a.collected.sums ?? []), ...(b.collected.sums ?? [])];
    expect(cluster).toHaveLength(local.collected.sums!.length);
    expect(final(cluster)).toEqual(final(local.collected.sums!));
  });

  it('fails the subtask whose user function threw and cancels the rest on both sides', async () => {
    const { a, b, status } = await runOnTwo('throwing', { n: 5000, p: 2 }, 'throws');
    expect(status).toContain('FAILED');
    const failed = [...a.states, ...b.states].filter((u) => u.state === 'FAILED');
    expect(failed, JSON.stringify({ status, a: a.states, b: b.states })).toHaveLength(1);
    expect(failed[0]!.error?.message).toContain('boom at 500');
    expect(failed[0]!.error?.stack).toContain('explode');
  });

  it('runs each pipelined region on its own: a failure in one region leaves the other to finish', async () => {
    // source -> map -> sink chained, parallelism 2: two regions, one per slot and TaskManager.
    const fx = fixtureJob('throwing', { n: 5000, p: 2 });
    const regions = computePipelinedRegions(fx.jobGraph).regions;
    expect(regions).toHaveLength(2);
    const a = await DataPlane.listen();
    const b = await DataPlane.listen();
    planes.push(a, b);
    const slots = [
      { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port },
      { taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port },
    ];
    const states: ClusterSubtaskUpdate[] = [];
    const jobs = regions.map((region, i) => {
      const self = slots[i]!.taskManagerId;
      const job = new ClusterJob({
        jobId: 'regions',
        attempt: 0,
        region: region.index,
        subtasks: region.executions,
        self,
        program: fx.program,
        jobGraph: fx.jobGraph,
        slots,
        dataPlane: i === 0 ? a : b,
        dataPlaneSecret: 'the-attempt-secret-0123456789',
        loader: fx.loader,
        listener: {
          onStates: (u) => states.push(...u),
          onMetrics: () => undefined,
          onCollected: () => undefined,
        },
      });
      expect(job.subtasks).toEqual(region.executions);
      expect(job.peers).toEqual([]);
      job.start();
      return job;
    });
    const status = await Promise.all(jobs.map((j) => j.done));
    expect([...status].sort()).toEqual(['FAILED', 'FINISHED']);
    const ended = states.filter(
      (u) => u.state === 'FAILED' || u.state === 'FINISHED' || u.state === 'CANCELED',
    );
    expect(ended.map((u) => u.state).sort()).toEqual(['FAILED', 'FINISHED']);
    expect(ended.find((u) => u.state === 'FAILED')?.error?.message).toContain('boom at 500');
  });
});

describe('ClusterJob with blocking exchanges (a staged BATCH job)', () => {
  it('runs stage 1 to complete partitions, then stage 2 reads them locally and over TCP, with the local result', async () => {
    const params = { n: 20_000, p: 2 };
    const fx = fixtureJob('keyedSum', params);
    const jobGraph = { ...fx.jobGraph, runtimeMode: 'BATCH' as const };
    const stages = computeStages(jobGraph)!;
    const dirs = [
      mkdtempSync(join(tmpdir(), 'freshet-stage-a-')),
      mkdtempSync(join(tmpdir(), 'freshet-stage-b-')),
    ];
    // A small memory budget on tm-a: its partitions spill to disk.
    const stores = [
      new PartitionStore({ dir: dirs[0]!, memoryBytes: 4096 }),
      new PartitionStore({ dir: dirs[1]! }),
    ];
    const a = await DataPlane.listen();
    const b = await DataPlane.listen();
    planes.push(a, b);
    const slots = [
      { taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port },
      { taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port },
    ];
    const states: ClusterSubtaskUpdate[] = [];
    const collected: unknown[] = [];
    const run = (
      region: (typeof stages.regions)[number],
      partitionLocations: { producer: string; taskManagerId: string; host: string; dataPort: number }[],
    ): Promise<ClusterJobStatus[]> => {
      const jobs = slots.map((s, i) => {
        const job = new ClusterJob({
          jobId: 'staged',
          attempt: 0,
          region: region.index,
          subtasks: region.executions,
          self: s.taskManagerId,
          program: fx.program,
          jobGraph,
          slots,
          dataPlane: i === 0 ? a : b,
          dataPlaneSecret: 'the-attempt-secret-0123456789',
          loader: fx.loader,
          blockingExchanges: true,
          partitions: stores[i]!,
          partitionLocations,
          listener: {
            onStates: (u) => states.push(...u),
            onMetrics: () => undefined,
            onCollected: (_id, values) => collected.push(...values),
          },
        });
        return job;
      });
      // A TaskManager with neither subtasks nor partitions of the region gets no deployment.
      const involved = jobs.filter(
        (j, i) =>
          j.subtasks.length > 0 ||
          partitionLocations.some((l) => l.taskManagerId === slots[i]!.taskManagerId),
      );
      for (const j of involved) j.start();
      return Promise.all(involved.map((j) => j.done));
    };
    const first = stages.regions.filter((r) => r.upstream.length === 0);
    const second = stages.regions.filter((r) => r.upstream.length > 0);
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(2);
    // Stage 1: nothing reads yet; every subtask is FINISHED once its partitions are complete.
    expect((await Promise.all(first.map((r) => run(r, [])))).flat()).toEqual(Array(2).fill('FINISHED'));
    const topology = new ChannelTopology(jobGraph);
    const edge = jobGraph.edges.find((e) => e.partitioning === 'HASH')!;
    for (let p = 0; p < 2; p++)
      for (let c = 0; c < 2; c++) {
        expect(stores[p % 2]!.has('staged', topology.channelId(edge, p, c))).toBe(true);
        expect(stores[(p + 1) % 2]!.has('staged', topology.channelId(edge, p, c))).toBe(false);
      }
    expect(stores[0]!.spilled('staged', topology.channelId(edge, 0, 0))).toBe(true);
    expect(collected).toHaveLength(0);
    // Stage 2: every consumer reads one partition on its own TaskManager and one on the other.
    const locations = first.flatMap((r) =>
      r.executions.map((e) => {
        const s = slots[e.subtask % 2]!;
        return { producer: `${e.vertexId}#${e.subtask}`, ...s };
      }),
    );
    expect((await Promise.all(second.map((r) => run(r, locations)))).flat()).toEqual(
      Array(4).fill('FINISHED'),
    );
    // A consumer attempt run again reads the same partitions again.
    const again = await run(second[0]!, locations);
    expect(again).toEqual(['FINISHED', 'FINISHED']);
    const local = await runLocalJob({ ...fx, slots: 2 });
    const final = (values: unknown[]): Record<number, number> => {
      const out: Record<number, number> = {};
      for (const r of values as { k: number; v: number }[]) out[r.k] = Math.max(out[r.k] ?? 0, r.v);
      return out;
    };
    expect(final(collected)).toEqual(final(local.collected.sums!));
    for (const s of stores) s.release('staged');
    expect(readdirSync(dirs[0]!)).toEqual([]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 120_000);
});
