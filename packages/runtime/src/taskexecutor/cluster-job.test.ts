// Two TaskManagers' parts of one job in one process, connected over real sockets.
import { afterEach, describe, expect, it } from 'vitest';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { fixtureJob, type FixtureParams } from '../testing/fixture-graphs.js';
import { DataPlane } from '../network/tcp/data-plane.js';
import { computePipelinedRegions } from '../executiongraph/pipelined-regions.js';
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
