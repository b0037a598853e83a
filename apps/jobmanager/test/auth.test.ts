// Authentication and authorization at the API edge: every procedure refuses
// an anonymous caller (enumerated from the router, so a new one is covered),
// roles are enforced, revoked tokens stop working, one-time login codes work
// once, batches are capped, and the bundle route still wants a TaskManager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleAllows, type Role } from '../src/auth/roles.js';
import { createJobManagerClient, type JobManagerClient } from '../src/client.js';
import { listProcedures, type ProcedureInfo } from '../src/router.js';
import { startInProcess, type InProcessJobManager } from './fixtures/in-process.js';
import { codeOf, rejection } from './rejection.js';

let jm: InProcessJobManager;
const clients = {} as Record<Role, { token: string; client: JobManagerClient }>;

beforeAll(async () => {
  jm = await startInProcess(['--max-batch-size', '3']);
  for (const role of ROLES) clients[role] = await jm.clientFor(role);
});

afterAll(async () => {
  await jm.dispose();
});

/**
 * Calls a procedure over raw HTTP with a deliberately useless input; returns
 * the HTTP status and tRPC code. A subscription answers over SSE: a refusal
 * is its first event (`event: serialized-error`, and the stream ends), so its
 * status is that event's.
 */
async function call(
  p: ProcedureInfo,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string | undefined }> {
  const input = encodeURIComponent(JSON.stringify({}));
  if (p.type === 'subscription') {
    const abort = new AbortController();
    const res = await fetch(`${jm.url}/trpc/${p.path}?input=${input}`, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    try {
      // Up to the first data or error event.
      while (!/event: serialized-error|\ndata: [{"]/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } finally {
      abort.abort();
    }
    const status = Number(/"httpStatus":(\d+)/.exec(text)?.[1] ?? res.status);
    return { status, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] };
  }
  const res =
    p.type === 'mutation'
      ? await fetch(`${jm.url}/trpc/${p.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: '{}',
        })
      : await fetch(`${jm.url}/trpc/${p.path}?input=${input}`, { headers });
  const text = await res.text();
  return { status: res.status, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] };
}

const procedures = listProcedures();
/** The TaskManagers' control plane: authenticated by their session, never by an API token. */
const TASKMANAGER_PROCEDURES = [
  'executions.declineCheckpoint',
  'executions.reportCollected',
  'executions.reportLostPeer',
  'executions.reportMetrics',
  'executions.reportStates',
  'executions.reportTapSamples',
  'executions.reportWatermarks',
  'taskManagers.commands',
  'taskManagers.deregister',
  'taskManagers.heartbeat',
  'taskManagers.register',
  'taskManagers.reportOutput',
  'taskManagers.reportProfile',
];

describe('the API', () => {
  it('declares who may call every procedure; only a login code needs no token', () => {
    expect(procedures.filter((p) => p.access === undefined)).toEqual([]);
    expect(procedures.filter((p) => p.access === 'public').map((p) => p.path)).toEqual([
      'auth.redeemLoginCode',
    ]);
    expect(
      procedures
        .filter((p) => p.access === 'taskManager')
        .map((p) => p.path)
        .sort(),
    ).toEqual(TASKMANAGER_PROCEDURES);
    expect(procedures.length).toBeGreaterThan(20);
  });

  it.each(procedures.filter((p) => p.access !== 'public' && p.access !== 'taskManager'))(
    'refuses an anonymous or bad-token call of $path with 401',
    async (p) => {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer fst_not-a-real-token' },
        { authorization: 'Basic YTpi' },
      ];
      for (const headers of attempts) {
        const answer = await call(p, headers);
        expect(answer, JSON.stringify(headers)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      }
    },
  );

  it.each(procedures.filter((p) => p.access !== 'public' && p.access !== 'taskManager'))(
    'lets only a token of at least its role call $path',
    async (p) => {
      for (const role of ROLES) {
        const answer = await call(p, { authorization: `Bearer ${clients[role].token}` });
        if (roleAllows(role, p.access as Role)) expect(answer.status, role).not.toBe(403);
        else expect(answer, role).toMatchObject({ status: 403, code: 'FORBIDDEN' });
        expect(answer.status, role).not.toBe(401);
        expect(answer.status, role).toBeLessThan(500);
      }
    },
  );

  it('refuses a viewer that uploads, submits or cancels, and a developer that administers', async () => {
    const viewer = clients.viewer.client;
    const form = new FormData();
    form.append('file', new Blob(['export default () => {}']), 'x.ts');
    expect(codeOf(await rejection(viewer.artifacts.upload.mutate(form)))).toBe('FORBIDDEN');
    expect(codeOf(await rejection(viewer.jobs.cancel.mutate({ jobId: 'any' })))).toBe('FORBIDDEN');
    expect(codeOf(await rejection(viewer.jobs.savepoint.mutate({ jobId: 'any' })))).toBe('FORBIDDEN');
    expect(codeOf(await rejection(viewer.jobs.stop.mutate({ jobId: 'any', drain: true })))).toBe('FORBIDDEN');
    expect(codeOf(await rejection(viewer.jobs.rescale.mutate({ jobId: 'any', parallelism: 2 })))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await rejection(viewer.jobs.submit.mutate({ artifactId: '0'.repeat(64) })))).toBe(
      'FORBIDDEN',
    );
    const developer = clients.developer.client;
    expect(codeOf(await rejection(developer.tokens.list.query()))).toBe('FORBIDDEN');
    expect(codeOf(await rejection(developer.artifacts.delete.mutate({ id: '0'.repeat(64) })))).toBe(
      'FORBIDDEN',
    );
    const err = await rejection(developer.tokens.create.mutate({ name: 'mine', role: 'admin' }));
    expect(err.message).toBe(
      "tokens.create needs the admin role; the token 'test developer' has the developer role",
    );
    // What they may do still works.
    expect(codeOf(await rejection(developer.jobs.cancel.mutate({ jobId: 'no-such-job' })))).toBe('NOT_FOUND');
    // A developer may take savepoints, stop and rescale: the job is what is missing.
    expect(codeOf(await rejection(developer.jobs.savepoint.mutate({ jobId: 'no-such-job' })))).toBe(
      'NOT_FOUND',
    );
    expect(
      codeOf(await rejection(developer.jobs.rescale.mutate({ jobId: 'no-such-job', parallelism: 2 }))),
    ).toBe('NOT_FOUND');
    expect(await viewer.jobs.list.query({})).toMatchObject({ jobs: [] });
  });

  it('stores only hashes, stops a revoked token at once, and never lists secrets', async () => {
    const admin = clients.admin.client;
    const created = await admin.tokens.create.mutate({ name: 'ci', role: 'developer' });
    expect(created.token).toMatch(/^fst_[A-Za-z0-9_-]{43}$/);
    const rows = await jm.database.db.prisma.apiToken.findMany({ where: { id: created.info.id } });
    expect(rows[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(created.token);
    const ci = createJobManagerClient(jm.url, { token: created.token });
    expect(await ci.auth.whoami.query()).toMatchObject({ name: 'ci', role: 'developer' });
    const listed = await admin.tokens.list.query();
    expect(listed.map((t) => t.id)).toContain(created.info.id);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await admin.tokens.revoke.mutate({ id: created.info.id });
    expect(codeOf(await rejection(ci.auth.whoami.query()))).toBe('UNAUTHORIZED');
    expect((await admin.tokens.list.query()).map((t) => t.id)).not.toContain(created.info.id);
    expect(
      (await admin.tokens.list.query({ all: true })).find((t) => t.id === created.info.id)?.revokedAt,
    ).not.toBeNull();
  });

  it('refuses an expired token', async () => {
    const { token } = await jm.services.tokens.create('old', 'viewer', new Date(Date.now() - 1000));
    const old = createJobManagerClient(jm.url, { token });
    expect(codeOf(await rejection(old.auth.whoami.query()))).toBe('UNAUTHORIZED');
  });

  it('redeems a one-time login code once, for a session of the same role that signing out ends', async () => {
    const { code } = await clients.viewer.client.auth.createLoginCode.mutate();
    const anonymous = createJobManagerClient(jm.url);
    const session = await anonymous.auth.redeemLoginCode.mutate({ code });
    expect(session).toMatchObject({ role: 'viewer', name: 'dashboard session (from test viewer)' });
    expect(codeOf(await rejection(anonymous.auth.redeemLoginCode.mutate({ code })))).toBe('UNAUTHORIZED');
    expect(codeOf(await rejection(anonymous.auth.redeemLoginCode.mutate({ code: 'flc_guess' })))).toBe(
      'UNAUTHORIZED',
    );
    const browser = createJobManagerClient(jm.url, { token: session.token });
    expect(await browser.auth.whoami.query()).toMatchObject({ role: 'viewer' });
    expect(await browser.auth.signOut.mutate()).toEqual({ revoked: true });
    expect(codeOf(await rejection(browser.auth.whoami.query()))).toBe('UNAUTHORIZED');
    // Signing out with a long-lived token leaves it working.
    expect(await clients.viewer.client.auth.signOut.mutate()).toEqual({ revoked: false });
    expect(await clients.viewer.client.auth.whoami.query()).toMatchObject({ role: 'viewer' });
  });

  it('refuses a batch above --max-batch-size with 400 before running any of it', async () => {
    const paths = Array.from({ length: 4 }, () => 'jobs.plan').join(',');
    const body = JSON.stringify(
      Object.fromEntries([0, 1, 2, 3].map((i) => [i, { artifactId: '0'.repeat(64) }])),
    );
    const res = await fetch(`${jm.url}/trpc/${paths}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clients.admin.token}` },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Batch call exceeds maximum size');
    const ok = await fetch(
      `${jm.url}/trpc/jobs.list,jobs.list?batch=1&input=${encodeURIComponent('{"0":{},"1":{}}')}`,
      {
        headers: { authorization: `Bearer ${clients.admin.token}` },
      },
    );
    expect(ok.status).toBe(200);
  });

  it('answers /healthz without a token, and bundles only to TaskManagers', async () => {
    expect((await fetch(`${jm.url}/healthz`)).status).toBe(200);
    const bundle = `${jm.url}/artifacts/${'0'.repeat(64)}.mjs`;
    expect(
      (await fetch(bundle, { headers: { authorization: `Bearer ${clients.admin.token}` } })).status,
    ).toBe(401);
  });
});
