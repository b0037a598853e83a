// The probe's denial-of-service findings against a real JobManager process:
// 50 concurrent uploads (2xx or 429, never 5xx; memory back near its
// baseline; no zombie compiler processes), 20 concurrent submits (all
// planned, none taken for a crash), a batch of 20 plans (refused whole), a
// parallelism-4096 job (refused, naming the setting), and a plan-mode
// program that attacks the JobManager (which keeps serving).
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobManagerClient } from '../src/client.js';
import {
  adminClient,
  adminHeaders,
  ensureBuilt,
  ProcessGroup,
  type JobManagerProcess,
} from '../src/testing.js';
import { codeOf, rejection } from './rejection.js';

const group = new ProcessGroup();
let jm: JobManagerProcess;
let client: JobManagerClient;

beforeAll(async () => {
  await ensureBuilt();
  const database = await group.createDatabase();
  jm = await group.startJobManager({
    ...database,
    // A secret in the JobManager's environment, for the plan-mode program to look for.
    env: { FRESHET_PROBE_SECRET: 'sup3r-secret-value' },
    args: ['--slot-request-timeout-ms', '60000'],
  });
  client = adminClient(jm);
});

afterAll(() => group.dispose());

/** A program that differs by `n` (so no upload is deduplicated). */
const program = (n: number, extra = ''): string => `import { defineProgram } from '@freshet/api';
export default defineProgram((env) => {
  ${extra}
  env.fromSequence(1, ${n + 10}).map((x: number) => x * ${n + 1}).print();
});
`;

function form(source: string, name: string): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([source]), name);
  return fd;
}

/** Resident memory of a process in MiB. */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Children of a process: pid, state and command. */
function childrenOf(pid: number): { pid: number; state: string; comm: string }[] {
  const out: { pid: number; state: string; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) out.push({ pid: Number(entry), state: state!, comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function upload(source: string, name: string): Promise<number> {
  const res = await fetch(`${jm.url}/trpc/artifacts.upload`, {
    method: 'POST',
    headers: adminHeaders(jm),
    body: form(source, name),
  });
  const retryAfter = res.headers.get('retry-after');
  await res.arrayBuffer();
  if (res.status === 429) expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  return res.status;
}

describe('a JobManager under load', () => {
  it('answers 50 concurrent uploads with 2xx or 429, reaps its compilers and gives its memory back', async () => {
    expect(await upload(program(-1), 'warm.ts')).toBe(200);
    const baseline = rssMiB(jm.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(jm.pid));
    }, 100);
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => upload(program(i), `p${i}.ts`)));
    clearInterval(sampler);
    const counts = statuses.reduce<Record<number, number>>(
      (acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }),
      {},
    );
    expect(
      statuses.filter((s) => !(s === 200 || s === 429)),
      JSON.stringify(counts),
    ).toEqual([]);
    expect(counts[200]).toBeGreaterThanOrEqual(2);
    // Settle: workers exit, V8 gives the heap back.
    await new Promise((r) => setTimeout(r, 5_000));
    const after = rssMiB(jm.pid);
    console.log(
      `50 uploads: ${JSON.stringify(counts)}; JobManager RSS baseline ${baseline.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, 5 s after ${after.toFixed(0)} MiB`,
    );
    expect(after).toBeLessThan(baseline + 250);
    const children = childrenOf(jm.pid);
    expect(children.filter((c) => c.state === 'Z')).toEqual([]);
    // At most esbuild's one long-lived service.
    expect(children.filter((c) => c.comm === 'esbuild').length).toBeLessThanOrEqual(1);
  }, 180_000);

  it('plans 20 concurrent submits, none taken for a crash', async () => {
    const { artifact } = await client.artifacts.upload.mutate(form(program(1000), 'twenty.ts'));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        client.jobs.submit.mutate({ artifactId: artifact.id, args: [`run${i}`] }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    expect(failed).toEqual([]);
    for (const r of results)
      if (r.status === 'fulfilled') await client.jobs.cancel.mutate({ jobId: r.value.jobId });
  }, 120_000);

  it('refuses a batch of 20 plans with 400 before any sandbox starts', async () => {
    const { artifact } = await client.artifacts.upload.mutate(form(program(2000), 'batch.ts'));
    const paths = Array.from({ length: 20 }, () => 'jobs.plan').join(',');
    const body = JSON.stringify(
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i, { artifactId: artifact.id }])),
    );
    const res = await fetch(`${jm.url}/trpc/${paths}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...adminHeaders(jm) },
      body,
    });
    expect(res.status).toBe(400);
    expect(childrenOf(jm.pid).filter((c) => c.comm === 'bwrap' || c.comm === 'node')).toEqual([]);
  });

  it('refuses a parallelism-4096 job, naming the setting', async () => {
    const { artifact } = await client.artifacts.upload.mutate(form(program(3000), 'wide.ts'));
    const err = await rejection(client.jobs.plan.mutate({ artifactId: artifact.id, parallelism: 4096 }));
    expect(codeOf(err)).toBe('BAD_REQUEST');
    expect(err.message).toContain('--max-job-parallelism');
    const inCode = await client.artifacts.upload.mutate(
      form(program(3001, 'env.setParallelism(4096);'), 'wide2.ts'),
    );
    const err2 = await rejection(client.jobs.submit.mutate({ artifactId: inCode.artifact.id }));
    expect(codeOf(err2)).toBe('BAD_REQUEST');
    expect(err2.message).toMatch(
      /with parallelism 4096: the JobManager's limit is 256 \(--max-job-parallelism/,
    );
  });

  it('keeps serving when a plan-mode program attacks it, and none of its secrets come back', async () => {
    const attack = `import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { defineProgram } from '@freshet/api';
export default defineProgram((env) => {
  const seen: string[] = [];
  const attempt = (what: string, f: () => unknown) => { try { seen.push(what + '=' + String(f())); } catch (e) { seen.push(what + '!' + String((e as { code?: string }).code)); } };
  attempt('environ', () => readFileSync('/proc/' + process.ppid + '/environ', 'utf8'));
  attempt('env', () => JSON.stringify(process.env));
  attempt('id', () => execFileSync('id', { encoding: 'utf8' }));
  attempt('kill', () => process.kill(process.ppid, 'SIGKILL'));
  throw new Error(seen.join(' | '));
});
`;
    const { artifact } = await client.artifacts.upload.mutate(form(attack, 'attack.ts'));
    const err = await rejection(client.jobs.plan.mutate({ artifactId: artifact.id }));
    expect(err.message).toContain('environ!');
    expect(err.message).toContain('id!');
    expect(err.message).not.toContain('sup3r-secret-value');
    expect(err.message).not.toContain('PATH');
    expect((await fetch(`${jm.url}/healthz`)).status).toBe(200);
    expect(jm.crashed).toBe(false);
    expect(
      jm.logs.some((l) =>
        /^Plan sandbox: bubblewrap \(user, pid, net, ipc namespaces\), node --/.test(l.msg),
      ),
    ).toBe(true);
  });
});
