// Savepoints with real processes: a JobManager and two TaskManagers (two
// slots each) run a stateful job — 50 ms tumbling event-time windows, then a
// KeyedProcessFunction with state and event-time timers, into the
// exactly-once file sink. A savepoint is written and inspected (by the built
// CLI), the job is stopped with a savepoint (plain and --drain), started
// again from it at another parallelism, and rescaled 2→3 and 4→1 in one call
// (the CLI's `freshet rescale`): every time, the committed output equals the
// plain-loop reference exactly. Hostile input gets a clear error, never a 500.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { fixture, submitFile, untilEnded } from './fixtures/cluster.js';
import {
  committedLines,
  sorted,
  startRecoveryCluster,
  untilCheckpoints,
  untilStatus,
  type RecoveryCluster,
} from './fixtures/recovery.js';
import { expectedTotals } from './fixtures/rescalable.js';
import { codeOf, rejection } from './rejection.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));

let c: RecoveryCluster;
let savepoints: string;
beforeAll(async () => {
  c = await startRecoveryCluster({ taskManagers: 0 });
  await c.addTaskManager(2);
  await c.addTaskManager(2);
  savepoints = join(c.database.dataDir, 'savepoints');
});
afterAll(async () => {
  await c?.group.dispose();
});

async function submitJob(
  out: string,
  count: number,
  parallelism: number,
  extra: { savepointPath?: string; allowNonRestoredState?: boolean; totalsUid?: string; rate?: number } = {},
): Promise<string> {
  const { totalsUid, rate = 2500, ...restore } = extra;
  return submitFile(c.client, fixture('rescalable.ts'), {
    // Slow enough that the job still runs when the test stops or rescales it, on a loaded machine too.
    args: [out, String(count), String(rate), '200', ...(totalsUid === undefined ? [] : [totalsUid])],
    parallelism,
    ...restore,
  });
}

/** Runs the built CLI against the cluster (its connection flags go before a `--`). */
async function cli(...args: string[]): Promise<string> {
  const dash = args.indexOf('--');
  const connection = ['--jobmanager', c.jm.url, '--token', c.jm.adminToken];
  const argv =
    dash < 0 ? [...args, ...connection] : [...args.slice(0, dash), ...connection, ...args.slice(dash)];
  const { stdout } = await run(process.execPath, [CLI, ...argv], { timeout: 120_000 });
  return stdout;
}

/** The vertex parallelisms of a job, by vertex name. */
async function parallelisms(jobId: string): Promise<number[]> {
  const job = await c.client.jobs.get.query({ jobId });
  return job.vertices.map((v) => v.parallelism);
}

describe('savepoints', () => {
  it('are written while the job runs, inspected, and refuse hostile input with clear errors', async () => {
    const out = await c.outputDir();
    const count = 100_000;
    const jobId = await submitJob(out, count, 2);
    await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 2);
    const sp = await c.client.jobs.savepoint.mutate({ jobId, dir: 'first' });
    expect(sp.path).toBe(join(savepoints, 'first'));
    const metadata = JSON.parse(await readFile(join(sp.path, '_metadata'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({ format: 'freshet-savepoint', version: 1, jobId, trigger: 'savepoint' });
    // The job goes on; the savepoint row is marked.
    expect((await c.client.jobs.get.query({ jobId })).status).toBe('RUNNING');
    const listed = await c.client.jobs.checkpoints.query({ jobId });
    const row = listed.history.find((h) => h.checkpointId === sp.checkpointId);
    expect(row?.savepoint).toEqual({ kind: 'SAVEPOINT', path: sp.path });
    expect(listed.history.filter((h) => h.savepoint !== null).map((h) => h.checkpointId)).toEqual([
      sp.checkpointId,
    ]);
    expect(listed.counts.savepoints).toBe(1);
    expect(listed.counts.completed).toBeGreaterThan(1);
    expect(listed.latestSavepoint?.checkpointId).toBe(sp.checkpointId);

    const inspected = JSON.parse(
      (await run(process.execPath, [CLI, 'savepoint', 'inspect', sp.path, '--json'])).stdout,
    ) as {
      kind: string;
      vertices: {
        operators: { uid: string }[];
        subtasks: { operators: { uid: string; keyGroups: number; states: Record<string, number> }[] }[];
      }[];
    };
    expect(inspected.kind).toBe('savepoint');
    const uids = inspected.vertices.flatMap((v) => v.operators.map((o) => o.uid));
    expect(uids).toEqual(expect.arrayContaining(['numbers', 'window-sums', 'running-totals', 'output']));
    const totals = inspected.vertices
      .flatMap((v) => v.subtasks)
      .flatMap((s) => s.operators)
      .filter((o) => o.uid === 'running-totals');
    expect(totals.reduce((n, o) => n + (o.states.total ?? 0), 0)).toBe(11);
    const text = (await run(process.execPath, [CLI, 'savepoint', 'inspect', sp.path])).stdout;
    // A directory without a savepoint: one clear line and exit code 1, no stack trace.
    const refused = await run(process.execPath, [CLI, 'savepoint', 'inspect', c.database.dataDir]).then(
      () => undefined,
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/^freshet: '.*' holds no savepoint or completed checkpoint/);
    expect(refused?.stderr).not.toMatch(/\n\s+at /);
    expect(text).toMatch(/Savepoint \(savepoint\)/);
    expect(text).toMatch(/running-totals .*total \(11\)/);

    // Hostile input: unknown jobs, paths outside the savepoint directory, an occupied one, corrupt and foreign files.
    expect(codeOf(await rejection(c.client.jobs.savepoint.mutate({ jobId: 'no-such-job' })))).toBe(
      'NOT_FOUND',
    );
    const traversal = await rejection(c.client.jobs.savepoint.mutate({ jobId, dir: '../../../tmp/evil' }));
    expect(codeOf(traversal)).toBe('BAD_REQUEST');
    expect(traversal.message).toMatch(/outside .*savepoints/);
    expect(codeOf(await rejection(c.client.jobs.savepoint.mutate({ jobId, dir: '/etc' })))).toBe(
      'BAD_REQUEST',
    );
    const occupied = await rejection(c.client.jobs.savepoint.mutate({ jobId, dir: 'first' }));
    expect(codeOf(occupied)).toBe('BAD_REQUEST');
    expect(occupied.message).toMatch(/already holds a savepoint/);
    await mkdir(join(savepoints, 'corrupt'), { recursive: true });
    await writeFile(join(savepoints, 'corrupt', '_metadata'), '{"format":"flink-savepoint"}');
    for (const [path, message] of [
      ['/etc', /outside the directories/],
      ['../../..', /outside the directories/],
      ['missing', /holds no savepoint/],
      ['corrupt', /not a Freshet savepoint/],
    ] as const) {
      const err = await rejection(submitJob(await c.outputDir(), 10, 1, { savepointPath: path }));
      expect(codeOf(err), path).toBe('BAD_REQUEST');
      expect(err.message, path).toMatch(message);
    }
    expect(codeOf(await rejection(c.client.jobs.stop.mutate({ jobId: 'no-such-job' })))).toBe('NOT_FOUND');
    expect(
      codeOf(await rejection(c.client.jobs.rescale.mutate({ jobId: 'no-such-job', parallelism: 2 }))),
    ).toBe('NOT_FOUND');

    // State of an operator the new job lacks fails the submission, naming it, unless allowed.
    const renamed = await rejection(
      submitJob(await c.outputDir(), count, 2, { savepointPath: 'first', totalsUid: 'renamed' }),
    );
    expect(codeOf(renamed)).toBe('BAD_REQUEST');
    expect(renamed.message).toMatch(/'running-totals'.*--allow-non-restored-state/);
    const allowed = await submitJob(await c.outputDir(), count, 2, {
      savepointPath: 'first',
      totalsUid: 'renamed',
      allowNonRestoredState: true,
    });
    await c.client.jobs.cancel.mutate({ jobId: allowed });
    await untilEnded(c.client, allowed, { timeoutMs: 30_000 });
    await c.client.jobs.cancel.mutate({ jobId });
    await untilEnded(c.client, jobId, { timeoutMs: 30_000 });
  }, 150_000);

  it('stop with a savepoint ends the job FINISHED; the job started from it at another parallelism completes the exact output', async () => {
    const out = await c.outputDir();
    const count = 10_000;
    const jobId = await submitJob(out, count, 2, { rate: 1000 });
    await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 3);
    const stopped = await c.client.jobs.stop.mutate({ jobId, dir: 'stopped' });
    expect(stopped.status).toBe('FINISHED');
    expect((await c.client.jobs.checkpoints.query({ jobId })).latestSavepoint?.savepoint).toEqual({
      kind: 'STOP',
      path: stopped.path,
    });
    const before = await committedLines(out);
    const expected = expectedTotals(count);
    // Committed up to the savepoint: a part of the output, nothing twice.
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(expected.length);
    expect(new Set(before).size).toBe(before.length);
    for (const line of before) expect(expected).toContain(line);

    // freshet submit -s: the same program from the savepoint, at parallelism 3.
    const { jobId: resumed } = JSON.parse(
      await cli(
        'submit',
        fixture('rescalable.ts'),
        '-s',
        'stopped',
        '-p',
        '3',
        '--json',
        '--',
        out,
        String(count),
        '1000',
        '200',
      ),
    ) as { jobId: string };
    expect(await parallelisms(resumed)).toEqual(expect.arrayContaining([1, 3]));
    const job = await untilEnded(c.client, resumed, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    expect(job.events.some((e) => /restores the savepoint/.test(e.message))).toBe(true);
    expect(job.configuration.restoredFrom).toBe(join(savepoints, 'stopped'));
    const lines = await committedLines(out);
    expect(lines.length).toBe(expected.length);
    expect(sorted(lines)).toEqual(sorted(expected));
  });

  it('stop --drain fires every window and timer, then finishes with a savepoint', async () => {
    const out = await c.outputDir();
    const count = 100_000;
    const jobId = await submitJob(out, count, 2);
    await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 2);
    const stopped = JSON.parse(await cli('stop', jobId, '--drain', '--dir', 'drained', '--json')) as {
      status: string;
      path: string;
    };
    expect(stopped.status).toBe('FINISHED');
    const metadata = JSON.parse(await readFile(join(stopped.path, '_metadata'), 'utf8')) as {
      trigger: string;
      vertices: { subtasks: { final: boolean }[] }[];
    };
    expect(metadata.trigger).toBe('drain');
    expect((await c.client.jobs.checkpoints.query({ jobId })).latestSavepoint?.savepoint).toEqual({
      kind: 'DRAIN',
      path: stopped.path,
    });
    expect(metadata.vertices.every((v) => v.subtasks.every((s) => s.final))).toBe(true);
    // The MAX watermark fired every window and timer of what was read: the output is a complete prefix by event time.
    const lines = (await committedLines(out)).map((l) => JSON.parse(l) as { end: number });
    const lastEnd = Math.max(...lines.map((l) => l.end));
    expect(lastEnd).toBeLessThan(count);
    // The sources stopped after some record n in the last window: the output is exactly that of a run over n records.
    const got = sorted(lines.map((l) => JSON.stringify(l)));
    const matching = Array.from({ length: 50 }, (_, i) => lastEnd - 50 + i + 1).filter((n) => {
      const reference = sorted(expectedTotals(n));
      return reference.length === got.length && reference.every((l, i) => l === got[i]);
    });
    console.log(
      `drain: ${lines.length} records committed, the output of a run over ${matching[0] ?? '?'} records`,
    );
    expect(matching.length).toBe(1);
  });

  it('rescale 2→3 of a job whose sequence source follows the job: every number exactly once, per-key counts continue', async () => {
    const out = await c.outputDir();
    // 16 s of input at 1,500 a second: on a loaded machine the job must still be running when the rescale comes
    // (with 8 s it sometimes had finished while the third checkpoint was awaited).
    const count = 24_000;
    const jobId = await submitFile(c.client, fixture('rescalable-source.ts'), {
      args: [out, String(count), '1500', '200'],
      parallelism: 2,
    });
    await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
    await untilCheckpoints(c.client, jobId, 3);
    const result = JSON.parse(await cli('rescale', jobId, '-p', '3', '--json')) as { jobId: string };
    const source = (await c.client.jobs.get.query({ jobId: result.jobId })).vertices[0]!;
    expect(source.parallelism).toBe(3);
    const job = await untilEnded(c.client, result.jobId, { timeoutMs: 90_000 });
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const records = (await committedLines(out)).map(
      (l) => JSON.parse(l) as { x: number; k: number; n: number },
    );
    expect(records.map((r) => r.x).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    // Keyed state moved with its key groups: each key's counts run 1..its size with no gap or repeat.
    for (let k = 0; k < 7; k++) {
      const ns = records
        .filter((r) => r.k === k)
        .map((r) => r.n)
        .sort((a, b) => a - b);
      expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i + 1));
    }
  }, 150_000);

  for (const [from, to] of [
    [2, 3],
    [4, 1],
  ] as const) {
    it(`rescale ${from}→${to} mid-run (freshet rescale) gives exactly the output of an un-rescaled run`, async () => {
      const out = await c.outputDir();
      const count = 20_000;
      const jobId = await submitJob(out, count, from, { rate: 1000 });
      await untilStatus(c.client, jobId, (j) => j.status === 'RUNNING', 'the job to run');
      await untilCheckpoints(c.client, jobId, 3);
      const started = Date.now();
      const result = JSON.parse(await cli('rescale', jobId, '-p', String(to), '--json')) as {
        jobId: string;
        previousJobId: string;
        savepoint: string;
      };
      console.log(`rescale ${from}→${to}: savepoint, stop and resubmit in ${Date.now() - started} ms`);
      expect(result.previousJobId).toBe(jobId);
      const stoppedBy = await c.client.jobs.checkpoints.query({ jobId });
      expect(stoppedBy.latestSavepoint?.savepoint).toEqual({ kind: 'RESCALE', path: result.savepoint });
      expect(stoppedBy.counts.savepoints).toBe(1);
      expect((await c.client.jobs.get.query({ jobId })).status).toBe('FINISHED');
      const middle = (await parallelisms(result.jobId)).filter((p) => p !== 1);
      expect(middle.every((p) => p === to)).toBe(true);
      const job = await untilEnded(c.client, result.jobId, { timeoutMs: 90_000 });
      expect(job.status, job.failureCause ?? '').toBe('FINISHED');
      const lines = await committedLines(out);
      const expected = expectedTotals(count);
      console.log(`rescale ${from}→${to}: committed ${lines.length} records, expected ${expected.length}`);
      expect(lines.length).toBe(expected.length);
      expect(sorted(lines)).toEqual(sorted(expected));
    }, 150_000);
  }
});
