// A real JobManager and two real TaskManager processes running a keyed job
// at parallelism 4, split over both TaskManagers, against the local mini-cluster.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobManagerClient, uploadProgramFile } from '@freshet/jobmanager/client';
import { ensureBuilt, ProcessGroup } from '@freshet/jobmanager/testing';
import { compileProgram, optimize } from '@freshet/planner';
import { computePlanHash, loadStreamGraph, runLocalJob } from '@freshet/runtime';

const PROGRAM = `
import type { StreamExecutionEnvironment } from '@freshet/api';
export default (env: StreamExecutionEnvironment) => {
  env
    .fromSequence(0, 7_999)
    .map((x) => ({ k: x % 101, v: x }))
    .keyBy((r) => r.k)
    .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
    .collect('sums');
};
`;

const group = new ProcessGroup();
let work: string;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'freshet-cluster-test-'));
});
afterAll(async () => {
  await group.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('cluster', () => {
  it('runs a keyed job at parallelism 4 on two TaskManager processes with the same result as runLocalJob', async () => {
    const db = await group.createDatabase();
    const jm = await group.startJobManager(db);
    const [tm1, tm2] = await Promise.all([
      group.startTaskManager({ jobManagerUrl: jm.url, slots: 2, args: ['--resource-id', 'tm-1'] }),
      group.startTaskManager({ jobManagerUrl: jm.url, slots: 2, args: ['--resource-id', 'tm-2'] }),
    ]);
    const file = join(work, 'keyed.ts');
    await writeFile(file, PROGRAM);
    const client = createJobManagerClient(jm.url, { token: jm.adminToken });
    const upload = await uploadProgramFile(client, file);
    const { jobId } = await client.jobs.submit.mutate({ artifactId: upload.artifact.id, parallelism: 4 });

    const deadline = Date.now() + 40_000;
    let job = await client.jobs.get.query({ jobId });
    while (!['FINISHED', 'FAILED', 'CANCELED'].includes(job.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      job = await client.jobs.get.query({ jobId });
    }
    expect(job.status, JSON.stringify(job).slice(0, 2000)).toBe('FINISHED');
    // Both TaskManagers ran a share of the subtasks.
    expect(tm1.logs.some((l) => l.msg.startsWith(`Deploying job ${jobId}`))).toBe(true);
    expect(tm2.logs.some((l) => l.msg.startsWith(`Deploying job ${jobId}`))).toBe(true);

    const { collections } = await client.jobs.collected.query({ jobId, collectId: 'sums' });
    const cluster = collections[0]?.records ?? [];
    const problems = JSON.stringify(
      [...tm1.logs, ...tm2.logs, ...jm.logs].filter((l) => l.level >= 40),
    ).slice(0, 3000);

    const compiled = await compileProgram(
      { path: file },
      { typecheck: false, cacheDir: join(work, 'bundles') },
    );
    if (!compiled.ok) throw new Error('compile failed');
    const program = { bundlePath: compiled.bundlePath, args: [], parallelism: 4 };
    const graph = await loadStreamGraph(program);
    const local = await runLocalJob({ program, jobGraph: optimize(graph, computePlanHash(graph)), slots: 2 });
    const final = (values: unknown[]): Record<number, number> => {
      const out: Record<number, number> = {};
      for (const r of values as { k: number; v: number }[]) out[r.k] = Math.max(out[r.k] ?? 0, r.v);
      return out;
    };
    expect(collections[0]?.total, problems).toBe(local.collected.sums!.length);
    expect(collections[0]?.truncated).toBe(false);
    expect(cluster).toHaveLength(local.collected.sums!.length);
    expect(final(cluster)).toEqual(final(local.collected.sums!));
  });
});
