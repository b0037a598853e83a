// Integration test: artifacts, planning and job scheduling against a real
// JobManager process, with fake TaskManagers speaking the real protocol.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentSchema, type TaskManagerCommand } from '@freshet/protocol';
import { diagnosticsOf, type JobManagerClient } from '../src/client.js';
import {
  adminClient,
  adminHeaders,
  ensureBuilt,
  ProcessGroup,
  type JobManagerProcess,
} from '../src/testing.js';
import { FakeTaskManager } from './fake-taskmanager.js';
import { codeOf, rejection } from './rejection.js';

const HEARTBEAT_TIMEOUT_MS = 1500;
const SLOT_TIMEOUT_MS = 1500;
const PLAN_TIMEOUT_MS = 1500;
const UPLOAD_LIMIT = 64 * 1024;

const PROGRAM = `import { defineProgram } from '@freshet/api';

export default defineProgram((env) => {
  env.setJobName('numbers');
  env
    .fromSequence(1, 100)
    .map((n: number) => n * 2)
    .name('double')
    .keyBy((n: number) => n % 4)
    .reduce((a: number, b: number) => a + b)
    .name('sum')
    .collect('sums');
});
`;

const group = new ProcessGroup();
let database: { dataDir: string; databaseUrl: string | undefined };
let jm: JobManagerProcess;
let client: JobManagerClient;
let artifactId: string;
let bundleSha256: string;
const fakes: FakeTaskManager[] = [];
let nextPort = 41000;

const jmArgs = [
  '--slot-request-timeout-ms',
  String(SLOT_TIMEOUT_MS),
  '--plan-timeout-ms',
  String(PLAN_TIMEOUT_MS),
  '--upload-limit-bytes',
  String(UPLOAD_LIMIT),
  '--log-level',
  'info',
];

function form(source: string | Uint8Array, name: string): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([source]), name);
  return fd;
}

async function eventually<T>(
  fn: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startFake(slots: number): Promise<FakeTaskManager> {
  const tm = await FakeTaskManager.start(client, jm.url, slots, nextPort++, jm.joinSecret);
  fakes.push(tm);
  return tm;
}

const deployOf = (jobId: string) => (c: TaskManagerCommand) =>
  c.type === 'deploy' && c.deployment.jobId === jobId;
const cancelOf = (jobId: string) => (c: TaskManagerCommand) => c.type === 'cancel' && c.jobId === jobId;

beforeAll(async () => {
  await ensureBuilt();
  database = await group.createDatabase();
  jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, args: jmArgs });
  client = adminClient(jm);
});

afterAll(async () => {
  for (const tm of fakes) tm.silence();
  await group.dispose();
});

describe('artifacts', () => {
  it('compiles an upload, stores it by digest and deduplicates the same content', async () => {
    const first = await client.artifacts.upload.mutate(form(PROGRAM, 'numbers.ts'));
    expect(first.deduplicated).toBe(false);
    expect(first.artifact).toMatchObject({ fileName: 'numbers.ts', size: Buffer.byteLength(PROGRAM) });
    expect(first.artifact.id).toMatch(/^[0-9a-f]{64}$/);
    const again = await client.artifacts.upload.mutate(form(PROGRAM, 'renamed.ts'));
    expect(again.deduplicated).toBe(true);
    expect(again.artifact.id).toBe(first.artifact.id);
    artifactId = first.artifact.id;
    bundleSha256 = first.artifact.bundleSha256;
    const list = await client.artifacts.list.query();
    expect(list.filter((a) => a.id === artifactId)).toHaveLength(1);
    const dir = join(database.dataDir, 'artifacts');
    expect(existsSync(join(dir, artifactId))).toBe(true);
    expect(existsSync(join(dir, `${bundleSha256}.mjs`))).toBe(true);
  });

  it('reports a syntax error with line and column, and type errors as diagnostics', async () => {
    const [syntax, typed] = await Promise.all([
      rejection(
        client.artifacts.upload.mutate(form('export default () => {\n  const x = ;\n};\n', 'broken.ts')),
      ),
      rejection(
        client.artifacts.upload.mutate(
          form('const n: number = "one";\nexport default () => n;\n', 'typed.ts'),
        ),
      ),
    ]);
    expect(codeOf(syntax)).toBe('BAD_REQUEST');
    expect(syntax.message).toContain('broken.ts:2:13: ');
    expect(diagnosticsOf(syntax)[0]).toMatchObject({ file: 'broken.ts', line: 2, column: 13 });
    expect(diagnosticsOf(syntax)[0]!.codeFrame).toContain('> 2 |');

    expect(codeOf(typed)).toBe('BAD_REQUEST');
    expect(typed.message).toContain("typed.ts:1:7: Type 'string' is not assignable to type 'number'.");
    expect(diagnosticsOf(typed)).toHaveLength(1);
  });

  it('refuses uploads over the limit and unsupported file types', async () => {
    const big = await rejection(
      client.artifacts.upload.mutate(form(`// ${'x'.repeat(100 * 1024)}\n`, 'upload.ts')),
    );
    expect(codeOf(big)).toBe('PAYLOAD_TOO_LARGE');
    expect(big.message).toBe('Program upload.ts is 100 KiB; the limit is 64 KiB (set --upload-limit-bytes)');

    const py = await rejection(client.artifacts.upload.mutate(form('print(1)', 'job.py')));
    expect(codeOf(py)).toBe('BAD_REQUEST');
    expect(py.message).toContain('upload a .ts, .mts, .js or .mjs file');
  });

  it('never uses a client-sent name as a path', async () => {
    const before = readdirSync(database.dataDir).sort();
    const [a, b] = await Promise.all([
      client.artifacts.upload.mutate(form('export default () => { /* a */ };\n', '../../etc/passwd.ts')),
      client.artifacts.upload.mutate(form('export default () => { /* b */ };\n', '..\\x.ts')),
    ]);
    expect(a.artifact.fileName).toBe('passwd.ts');
    expect(b.artifact.fileName).toBe('x.ts');
    expect(readdirSync(database.dataDir).sort()).toEqual(before);
    expect(existsSync(join(database.dataDir, '..', 'etc'))).toBe(false);
    const stored = readdirSync(join(database.dataDir, 'artifacts')).filter((f) => f !== 'tmp');
    for (const f of stored) expect(f).toMatch(/^[0-9a-f]{64}(\.mjs)?$/);
    await client.artifacts.delete.mutate({ id: b.artifact.id });
    expect(existsSync(join(database.dataDir, 'artifacts', b.artifact.id))).toBe(false);
    expect(codeOf(await rejection(client.artifacts.get.query({ id: b.artifact.id })))).toBe('NOT_FOUND');
  });

  it('serves bundles only to TaskManagers with a live session that a job using them is deployed to', async () => {
    const url = `${jm.url}/artifacts/${bundleSha256}.mjs`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer nobody.nothing' } })).status).toBe(401);
    const tm = await startFake(1);
    const auth = { authorization: `Bearer ${tm.taskManagerId}.${tm.token}` };
    // A registered TaskManager that runs nothing of a job with this bundle gets nothing.
    expect((await fetch(url, { headers: auth })).status).toBe(403);
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 1 });
    await tm.waitForCommand(deployOf(jobId));
    const res = await fetch(url, { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('sourceMappingURL');
    expect((await fetch(`${jm.url}/artifacts/..%2F..%2Fetc%2Fpasswd`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${jm.url}/artifacts/${'0'.repeat(64)}.mjs`, { headers: auth })).status).toBe(403);
    await client.taskManagers.deregister.mutate({ taskManagerId: tm.taskManagerId, token: tm.token });
    tm.silence();
    expect((await fetch(url, { headers: auth })).status).toBe(401);
  });
});

describe('planning', () => {
  it('plans an artifact into a JobGraph in the sandbox', async () => {
    const plan = await client.jobs.plan.mutate({ artifactId, args: [], parallelism: 3 });
    expect(plan.jobGraph.jobName).toBe('numbers');
    expect(plan.jobGraph.parallelism).toBe(3);
    expect(plan.planHash).toBe(plan.jobGraph.planHash);
    expect(plan.jobGraph.vertices.length).toBeGreaterThanOrEqual(2);
    expect(plan.jobGraph.edges.some((e) => e.partitioning === 'HASH')).toBe(true);
    expect(plan.streamGraph.nodes.length).toBeGreaterThan(plan.jobGraph.vertices.length);
  });

  it('stops a program that loops forever while planning, and keeps serving', async () => {
    const loop = await client.artifacts.upload.mutate(
      form(
        "import { defineProgram } from '@freshet/api';\nexport default defineProgram(() => { for (;;) {} });\n",
        'loop.mjs',
      ),
    );
    const started = Date.now();
    const err = await rejection(client.jobs.plan.mutate({ artifactId: loop.artifact.id, args: [] }));
    expect(codeOf(err)).toBe('BAD_REQUEST');
    expect(err.message).toContain(`did not finish planning within ${PLAN_TIMEOUT_MS} ms (infinite loop?)`);
    expect(Date.now() - started).toBeLessThan(PLAN_TIMEOUT_MS + 8000);
    const overview = await client.cluster.overview.query();
    expect(overview.jobManager.version).toBeTruthy();
  });

  it('answers NOT_FOUND for an unknown artifact or job', async () => {
    const missing = 'f'.repeat(64);
    const err = await rejection(client.jobs.plan.mutate({ artifactId: missing, args: [] }));
    expect(codeOf(err)).toBe('NOT_FOUND');
    expect(err.message).toContain(missing);
    const job = await rejection(client.jobs.get.query({ jobId: 'no-such-job' }));
    expect(codeOf(job)).toBe('NOT_FOUND');
    expect(job.message).toContain('no-such-job');
  });
});

describe('jobs', () => {
  let a: FakeTaskManager;
  let b: FakeTaskManager;

  beforeAll(async () => {
    a = await startFake(2);
    b = await startFake(2);
  });

  it('deploys over the commands stream, follows state reports to FINISHED and frees the slots', async () => {
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 3 });
    const cmdA = await a.waitForCommand(deployOf(jobId));
    const cmdB = await b.waitForCommand(deployOf(jobId));
    const deployment = DeploymentSchema.parse(
      (cmdA as Extract<TaskManagerCommand, { type: 'deploy' }>).deployment,
    );
    expect(deployment).toMatchObject({
      jobId,
      attempt: 0,
      bundleSha256,
      program: { args: [], parallelism: 3 },
    });
    // Round-robin: global slots 0 and 2 on one TaskManager, 1 on the other.
    expect(deployment.slots).toHaveLength(3);
    expect(deployment.slots[0]!.taskManagerId).toBe(deployment.slots[2]!.taskManagerId);
    expect(deployment.slots[0]!.taskManagerId).not.toBe(deployment.slots[1]!.taskManagerId);
    expect(new Set(deployment.slots.map((s) => s.dataPort))).toEqual(new Set([a.dataPort, b.dataPort]));

    let job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('CREATED');
    expect(job.subtasks.every((s) => s.state === 'DEPLOYING')).toBe(true);
    expect((await client.cluster.overview.query()).slots.free).toBe(1);

    // A TaskManager reports SCHEDULED when the deployment reaches it; the
    // JobManager already moved the subtasks to DEPLOYING, and a subtask's state
    // never goes backwards in Flink's lifecycle.
    for (const tm of [a, b]) await tm.reportAll(tm === a ? cmdA : cmdB, 'SCHEDULED');
    job = await client.jobs.get.query({ jobId });
    expect(job.subtasks.every((s) => s.state === 'DEPLOYING')).toBe(true);
    expect(job.events.some((e) => e.message.includes('from DEPLOYING to SCHEDULED'))).toBe(false);

    for (const tm of [a, b]) await tm.reportAll(tm === a ? cmdA : cmdB, 'INITIALIZING');
    for (const tm of [a, b]) await tm.reportAll(tm === a ? cmdA : cmdB, 'RUNNING');
    job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('RUNNING');
    expect(job.subtasks.every((s) => s.state === 'RUNNING' && s.taskManager !== null)).toBe(true);

    // Metrics and collected records.
    const v = deployment.jobGraph.vertices[0]!;
    const tmOf0 = deployment.slots[0]!.taskManagerId === a.taskManagerId ? a : b;
    const sample = (recordsOut: number, at: number) => ({
      jobId,
      attempt: 0,
      vertexId: v.id,
      subtaskIndex: 0,
      recordsIn: recordsOut,
      recordsOut,
      bytesIn: 0,
      bytesOut: recordsOut * 8,
      busyRatio: 0.5,
      backpressureRatio: 0.25,
      inputWatermark: null,
      at,
    });
    const t0 = Date.now();
    await client.executions.reportMetrics.mutate({
      taskManagerId: tmOf0.taskManagerId,
      token: tmOf0.token,
      samples: [sample(0, t0)],
    });
    await client.executions.reportMetrics.mutate({
      taskManagerId: tmOf0.taskManagerId,
      token: tmOf0.token,
      samples: [sample(1000, t0 + 1000)],
    });
    job = await client.jobs.get.query({ jobId });
    const vertex = job.vertices.find((x) => x.id === v.id)!;
    expect(vertex.metrics.recordsOutPerSec).toBeCloseTo(1000);
    expect(vertex.metrics.busyRatio).toBe(0.5);
    expect(job.subtasks.find((s) => s.vertexId === v.id && s.subtaskIndex === 0)!.metrics?.recordsOut).toBe(
      1000,
    );
    await client.executions.reportCollected.mutate({
      taskManagerId: a.taskManagerId,
      token: a.token,
      jobId,
      attempt: 0,
      collectId: 'sums',
      values: [{ n: 1 }, 2],
    });
    expect((await client.jobs.collected.query({ jobId })).collections).toEqual([
      { collectId: 'sums', records: [{ n: 1 }, 2], total: 2, truncated: false },
    ]);
    const tm = await client.taskManagers.get.query({ id: a.taskManagerId });
    expect(tm.subtasks.length).toBeGreaterThan(0);
    expect(tm.slotsUsed).toBe(a.taskManagerId === deployment.slots[0]!.taskManagerId ? 2 : 1);

    for (const tm of [a, b]) await tm.reportAll(tm === a ? cmdA : cmdB, 'FINISHED');
    job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('FINISHED');
    expect(job.endedAt).not.toBeNull();
    expect(job.events.map((e) => e.message)).toContain(
      `Job 'numbers' switched from RUNNING to FINISHED: All subtasks finished`,
    );
    expect((await client.cluster.overview.query()).slots.free).toBe(4);
    const list = await client.jobs.list.query({ status: ['FINISHED'] });
    expect(list.jobs.map((j) => j.id)).toContain(jobId);
  });

  it('fails the job when a subtask fails, cancels the rest and keeps the stack trace', async () => {
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 2 });
    const cmdA = await a.waitForCommand(deployOf(jobId));
    const cmdB = await b.waitForCommand(deployOf(jobId));
    await a.reportAll(cmdA, 'RUNNING');
    await b.reportAll(cmdB, 'RUNNING');
    const stack = 'Error: boom at record 42\n    at double (program:numbers.ts:7:30)';
    await a.reportAll(cmdA, 'FAILED', { name: 'Error', message: 'boom at record 42', stack });
    await b.waitForCommand(cancelOf(jobId));
    let job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('FAILING');
    await b.reportAll(cmdB, 'CANCELED');
    job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('FAILED');
    expect(job.failureCause).toContain('program:numbers.ts:7:30');
    expect(job.exceptions.some((e) => e.stackTrace?.includes('boom at record 42'))).toBe(true);
    expect((await client.cluster.overview.query()).slots.free).toBe(4);
  });

  it('waits for slots, then fails with a clear message when none come', async () => {
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 6 });
    let job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('CREATED');
    expect(job.events.some((e) => e.message.startsWith('Waiting for 6 task slots'))).toBe(true);
    job = await eventually(
      () => client.jobs.get.query({ jobId }),
      (j) => j.status === 'FAILED',
      SLOT_TIMEOUT_MS + 5000,
    );
    expect(job.status).toBe('FAILED');
    expect(job.failureCause).toBe(
      'Not enough task slots: the job needs 6, the cluster has 4 free (2 TaskManagers, 4 slots in total)',
    );
  });

  it('cancels a job: CANCELED once the TaskManagers confirm, slots free again', async () => {
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 2 });
    const cmdA = await a.waitForCommand(deployOf(jobId));
    const cmdB = await b.waitForCommand(deployOf(jobId));
    await a.reportAll(cmdA, 'RUNNING');
    await b.reportAll(cmdB, 'RUNNING');
    expect(await client.jobs.cancel.mutate({ jobId })).toEqual({ jobId, status: 'CANCELLING' });
    await a.waitForCommand(cancelOf(jobId));
    await b.waitForCommand(cancelOf(jobId));
    await a.reportAll(cmdA, 'CANCELED');
    await b.reportAll(cmdB, 'CANCELED');
    const job = await client.jobs.get.query({ jobId });
    expect(job.status).toBe('CANCELED');
    expect(job.subtasks.every((s) => s.state === 'CANCELED')).toBe(true);
    expect((await client.cluster.overview.query()).slots.free).toBe(4);
    expect(codeOf(await rejection(client.jobs.cancel.mutate({ jobId })))).toBe('CONFLICT');
  });

  it('fails the job naming a lost TaskManager and cancels the rest elsewhere', async () => {
    const { jobId } = await client.jobs.submit.mutate({ artifactId, args: [], parallelism: 2 });
    const cmdA = await a.waitForCommand(deployOf(jobId));
    const cmdB = await b.waitForCommand(deployOf(jobId));
    await a.reportAll(cmdA, 'RUNNING');
    await b.reportAll(cmdB, 'RUNNING');
    b.silence();
    await a.waitForCommand(cancelOf(jobId), HEARTBEAT_TIMEOUT_MS + 5000);
    await a.reportAll(cmdA, 'CANCELED');
    const job = await eventually(
      () => client.jobs.get.query({ jobId }),
      (j) => j.status === 'FAILED',
    );
    expect(job.failureCause).toBe(
      `TaskManager ${b.taskManagerId} (127.0.0.1:${b.dataPort}) was lost: no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`,
    );
    const lost = job.subtasks.filter((s) => s.taskManager?.id === b.taskManagerId);
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((s) => s.state === 'FAILED')).toBe(true);
  });
});

describe('jobs.onUpdate', () => {
  it('streams the jobs.get shape over SSE', async () => {
    const { jobs } = await client.jobs.list.query({ limit: 1 });
    const jobId = jobs[0]!.id;
    const abort = new AbortController();
    const input = encodeURIComponent(JSON.stringify({ jobId }));
    const res = await fetch(`${jm.url}/trpc/jobs.onUpdate?input=${input}`, {
      signal: abort.signal,
      headers: { accept: 'text/event-stream', ...adminHeaders(jm) },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('SSE stream ended');
        buffer += value;
        const event = buffer.split('\n\n').find((e) => e.startsWith('data: ') || e.includes('\ndata: {"id"'));
        const data = event?.split('\n').find((l) => l.startsWith('data: {"id"'));
        if (data === undefined) continue;
        const job = JSON.parse(data.slice(6)) as { id: string; vertices: unknown[]; events: unknown[] };
        expect(job.id).toBe(jobId);
        expect(job.vertices.length).toBeGreaterThan(0);
        expect(job.events.length).toBeGreaterThan(0);
        return;
      }
    } finally {
      abort.abort();
    }
  });
});

describe('restart', () => {
  it('keeps jobs, events, exceptions and artifacts, and fails jobs that were running', async () => {
    const tm = await startFake(4);
    const { jobId } = await client.jobs.submit.mutate({
      artifactId,
      args: ['--x'],
      parallelism: 2,
      name: 'survivor',
    });
    const cmd = await tm.waitForCommand(deployOf(jobId));
    await tm.reportAll(cmd, 'RUNNING');
    const before = await client.jobs.list.query({});
    await jm.stop();
    jm = await group.startJobManager({ ...database, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, args: jmArgs });
    client = adminClient(jm);
    const after = await client.jobs.list.query({});
    expect(after.jobs.map((j) => j.id)).toEqual(before.jobs.map((j) => j.id));
    const job = await client.jobs.get.query({ jobId });
    expect(job).toMatchObject({
      name: 'survivor',
      status: 'FAILED',
      failureCause: 'JobManager restarted while the job was running',
      arguments: ['--x'],
    });
    expect(job.jobGraph?.vertices.length).toBe(job.vertices.length);
    expect(job.events.some((e) => e.message.includes('switched from DEPLOYING to RUNNING'))).toBe(true);
    expect(job.exceptions[0]?.message).toBe('JobManager restarted while the job was running');
    expect((await client.artifacts.list.query()).map((x) => x.id)).toContain(artifactId);
    const failed = await client.jobs.list.query({ status: ['FAILED'] });
    expect(failed.jobs.length).toBeGreaterThanOrEqual(4);
  });
});
