// Real TaskManager processes deploying a compiled program, driven by a
// stand-in JobManager that speaks the deployment contract.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ProcessGroup, TASKMANAGER_BIN, type ManagedProcess } from '@freshet/jobmanager/testing';
import { compileProgram, optimize } from '@freshet/planner';
import type { Deployment, JobGraph } from '@freshet/protocol';
import { computePlanHash, loadStreamGraph, runLocalJob } from '@freshet/runtime';
import { FakeJobManager } from './fake-jobmanager.js';

const PROGRAM = `
import type { StreamExecutionEnvironment } from '@freshet/api';
export default (env: StreamExecutionEnvironment, args: string[]) => {
  if (args[0] === 'keyed') {
    env
      .fromSequence(0, 39_999)
      .map((x) => ({ k: x % 97, v: x }))
      .keyBy((r) => r.k)
      .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
      .collect('sums');
  } else if (args[0] === 'throws') {
    env.fromSequence(0, 999).rebalance().map(function explode(x: number) {
      if (x === 700) throw new Error('boom at ' + x);
      return x;
    }).discard();
  } else {
    env.fromGenerator((i) => ({ k: i % 10, v: i }), { ratePerSecond: 2000 }).rebalance().map((r) => r).discard();
  }
};
`;

const group = new ProcessGroup();
let jm = new FakeJobManager();
let work: string;
let bundle: { sha256: string; bundlePath: string };
const tms: ManagedProcess[] = [];

async function plan(
  args: string[],
  parallelism: number,
): Promise<{ jobGraph: JobGraph; program: { bundlePath: string; args: string[]; parallelism: number } }> {
  const program = { bundlePath: bundle.bundlePath, args, parallelism };
  const graph = await loadStreamGraph(program);
  return { jobGraph: optimize(graph, computePlanHash(graph)), program };
}

function deployment(
  jobId: string,
  args: string[],
  parallelism: number,
  jobGraph: JobGraph,
  slots = ['tm-1', 'tm-2'],
): Deployment {
  return {
    jobId,
    attempt: 0,
    bundleSha256: bundle.sha256,
    program: { args, parallelism },
    jobGraph,
    dataPlaneSecret: `data-plane-secret-of-${jobId}-for-this-test`,
    region: 0,
    subtasks: jobGraph.vertices.flatMap((v) =>
      Array.from({ length: v.parallelism }, (_, s) => ({ vertexId: v.id, subtask: s })),
    ),
    slots: slots.map((id, i) => {
      const r = jm.tms.get(id)!.registration;
      return {
        taskManagerId: id,
        host: r.host,
        dataPort: r.dataPort,
        slotIndex: slots.slice(0, i).filter((x) => x === id).length,
      };
    }),
  };
}

const statesOf = (jobId: string) => jm.states.filter((s) => s.jobId === jobId);
const subtasksOf = (g: JobGraph) => g.vertices.reduce((n, v) => n + v.parallelism, 0);
const terminal = (jobId: string) =>
  statesOf(jobId).filter((s) => ['FINISHED', 'FAILED', 'CANCELED'].includes(s.state));

beforeAll(async () => {
  await ensureBuilt();
  await jm.start();
  work = await mkdtemp(join(tmpdir(), 'freshet-tm-deploy-'));
  const compiled = await compileProgram(
    { source: PROGRAM, filename: 'job.ts' },
    { typecheck: false, cacheDir: join(work, 'jm-bundles') },
  );
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  bundle = compiled;
  const { readFile } = await import('node:fs/promises');
  jm.bundles.set(bundle.sha256, await readFile(bundle.bundlePath));
  for (const id of ['tm-1', 'tm-2']) {
    tms.push(
      group.spawn(TASKMANAGER_BIN, [
        '--jobmanager',
        jm.url,
        '--slots',
        '1',
        '--resource-id',
        id,
        '--data-dir',
        join(work, id),
      ]),
    );
  }
  await jm.until(
    () => ['tm-1', 'tm-2'].every((id) => (jm.tms.get(id)?.subscribed ?? 0) > 0),
    30_000,
    'two subscribed TaskManagers',
  );
});

afterAll(async () => {
  await group.dispose();
  await jm.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('TaskManager deployments', () => {
  it('runs a keyed job at parallelism 4 across two TaskManager processes with the local result', async () => {
    const { jobGraph, program } = await plan(['keyed'], 4);
    const d = deployment('keyed', ['keyed'], 4, jobGraph);
    jm.send('tm-1', { type: 'deploy', deployment: d });
    jm.send('tm-2', { type: 'deploy', deployment: d });
    await jm.until(() => terminal('keyed').length === subtasksOf(jobGraph), 40_000, 'the keyed job to end');
    expect(terminal('keyed').map((s) => s.state)).toEqual(Array(subtasksOf(jobGraph)).fill('FINISHED'));
    // Every subtask went through the whole lifecycle, in order.
    for (const v of jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        const seq = statesOf('keyed')
          .filter((u) => u.vertexId === v.id && u.subtaskIndex === s)
          .map((u) => u.state);
        expect(seq).toEqual(['SCHEDULED', 'DEPLOYING', 'INITIALIZING', 'RUNNING', 'FINISHED']);
      }
    }
    // Both TaskManagers fetched the bundle with their credentials.
    expect(
      jm.artifactRequests
        .filter((r) => r.sha === bundle.sha256)
        .map((r) => r.authorization?.split('.')[0])
        .sort(),
    ).toEqual(['Bearer tm-1', 'Bearer tm-2']);
    const local = await runLocalJob({ program, jobGraph, slots: 2 });
    const final = (values: unknown[]): Record<number, number> => {
      const out: Record<number, number> = {};
      for (const r of values as { k: number; v: number }[]) out[r.k] = Math.max(out[r.k] ?? 0, r.v);
      return out;
    };
    const cluster = jm.collected.get('sums') ?? [];
    expect(cluster).toHaveLength(local.collected.sums!.length);
    expect(final(cluster)).toEqual(final(local.collected.sums!));
    // Metrics arrived for every subtask, with bytes across the exchange.
    const sampled = new Set(
      jm.metrics.filter((m) => m.jobId === 'keyed').map((m) => `${m.vertexId}#${m.subtaskIndex}`),
    );
    expect(sampled.size).toBe(subtasksOf(jobGraph));
    expect(
      jm.metrics.filter((m) => m.jobId === 'keyed').reduce((s, m) => Math.max(s, m.bytesOut), 0),
    ).toBeGreaterThan(0);
  });

  it('fails a deployment whose plan hash does not match', async () => {
    const { jobGraph } = await plan(['keyed'], 2);
    const d = deployment('mismatch', ['keyed'], 2, { ...jobGraph, planHash: 'f'.repeat(64) }, ['tm-1']);
    jm.send('tm-1', { type: 'deploy', deployment: d });
    await jm.until(
      () => terminal('mismatch').length === subtasksOf(jobGraph),
      20_000,
      'the mismatch to fail',
    );
    const failed = terminal('mismatch');
    expect(failed.every((s) => s.state === 'FAILED')).toBe(true);
    expect(failed[0]!.error).toMatchObject({ name: 'PlanMismatchError' });
    expect(failed[0]!.error!.message).toContain('planning must be deterministic');
  });

  it("reports the user function's error and source-mapped stack", async () => {
    const { jobGraph } = await plan(['throws'], 2);
    const d = deployment('throws', ['throws'], 2, jobGraph);
    jm.send('tm-1', { type: 'deploy', deployment: d });
    jm.send('tm-2', { type: 'deploy', deployment: d });
    await jm.until(
      () => terminal('throws').length === subtasksOf(jobGraph),
      30_000,
      'the throwing job to end',
    );
    const failed = terminal('throws').filter((s) => s.state === 'FAILED');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    const user = failed.find((s) => s.error?.message.includes('boom at 700'));
    expect(user?.error?.stack).toMatch(/job\.ts:\d+/);
  });

  it('registers and subscribes again after the JobManager restarts', async () => {
    const port = Number(new URL(jm.url).port);
    const bytes = jm.bundles;
    await jm.close();
    jm = await new FakeJobManager().start(port);
    for (const [sha, b] of bytes) jm.bundles.set(sha, b);
    await jm.until(
      () => ['tm-1', 'tm-2'].every((id) => (jm.tms.get(id)?.subscribed ?? 0) > 0),
      30_000,
      'both TaskManagers back',
    );
  });

  it('cancels a running job on both TaskManagers', async () => {
    const { jobGraph } = await plan(['infinite'], 2);
    const d = deployment('cancel-me', ['infinite'], 2, jobGraph);
    jm.send('tm-1', { type: 'deploy', deployment: d });
    jm.send('tm-2', { type: 'deploy', deployment: d });
    await jm.until(
      () => statesOf('cancel-me').filter((s) => s.state === 'RUNNING').length === subtasksOf(jobGraph),
      30_000,
      'RUNNING',
    );
    await jm.until(
      () => (jm.tms.get('tm-1')!.health.at(-1)?.slotsUsed ?? 0) === 1,
      5000,
      'slotsUsed in the heartbeat',
    );
    jm.send('tm-1', { type: 'cancel', jobId: 'cancel-me', attempt: 0 });
    jm.send('tm-2', { type: 'cancel', jobId: 'cancel-me', attempt: 0 });
    await jm.until(() => terminal('cancel-me').length === subtasksOf(jobGraph), 20_000, 'CANCELED');
    expect(terminal('cancel-me').map((s) => s.state)).toEqual(Array(subtasksOf(jobGraph)).fill('CANCELED'));
  });

  it('fails the tasks exchanging data with a TaskManager that disappears, naming it; SIGTERM drains and deregisters', async () => {
    const { jobGraph } = await plan(['infinite'], 2);
    const d = deployment('lossy', ['infinite'], 2, jobGraph);
    jm.send('tm-1', { type: 'deploy', deployment: d });
    jm.send('tm-2', { type: 'deploy', deployment: d });
    await jm.until(
      () => statesOf('lossy').filter((s) => s.state === 'RUNNING').length === subtasksOf(jobGraph),
      30_000,
      'RUNNING',
    );
    await tms[1]!.stop('SIGKILL');
    await jm.until(
      () => terminal('lossy').filter((s) => s.subtaskIndex === 0).length === jobGraph.vertices.length,
      20_000,
      'tm-1 to fail',
    );
    const failed = terminal('lossy').filter((s) => s.state === 'FAILED');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.error!.message).toMatch(/TaskManager tm-2/);
    // The broken connection was reported at once, so failover need not wait for a heartbeat timeout.
    await jm.until(
      () => jm.lostPeers.some((p) => p.peerId === 'tm-2' && p.reportedBy === 'tm-1'),
      5000,
      'the lost peer report',
    );

    // A job running alone on tm-1 is canceled and reported when tm-1 gets SIGTERM.
    const solo = deployment('drain', ['infinite'], 2, jobGraph, ['tm-1']);
    jm.send('tm-1', { type: 'deploy', deployment: solo });
    await jm.until(
      () => statesOf('drain').filter((s) => s.state === 'RUNNING').length === 2 * jobGraph.vertices.length,
      30_000,
      'RUNNING',
    );
    expect(await tms[0]!.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(terminal('drain').map((s) => s.state)).toEqual(
      Array(2 * jobGraph.vertices.length).fill('CANCELED'),
    );
    expect(jm.tms.get('tm-1')!.deregistered).toBe(true);
  });
});
