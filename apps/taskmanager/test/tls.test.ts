// A JobManager serving HTTPS with a certificate of its own CA: a TaskManager
// given that CA (--jobmanager-ca) registers, fetches the bundle and runs a
// job; a client given the CA calls the API; a client without it is refused
// by TLS.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobManagerClient, uploadProgramFile } from '@freshet/jobmanager/client';
import { ensureBuilt, ProcessGroup, type JobManagerProcess } from '@freshet/jobmanager/testing';

const group = new ProcessGroup();
let work: string;
let jm: JobManagerProcess;
let ca: string;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'freshet-tls-'));
  ca = join(work, 'cert.pem');
  const key = join(work, 'key.pem');
  // A self-signed certificate for 127.0.0.1 is its own CA.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      ca,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const db = await group.createDatabase();
  jm = await group.startJobManager({ ...db, args: ['--tls-cert', ca, '--tls-key', key] });
}, 180_000);

afterAll(async () => {
  await group.dispose();
  await rm(work, { recursive: true, force: true });
});

describe('the API over TLS', () => {
  it('serves https; a TaskManager and a client that trust its CA work, others are refused', async () => {
    expect(jm.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await group.startTaskManager({ jobManagerUrl: jm.url, slots: 2, args: ['--jobmanager-ca', ca] });
    const client = createJobManagerClient(jm.url, { token: jm.adminToken, caFile: ca });
    expect(await client.auth.whoami.query()).toMatchObject({ role: 'admin' });
    const program = join(work, 'tls-job.ts');
    await writeFile(
      program,
      "import { defineProgram } from '@freshet/api';\nexport default defineProgram((env) => { env.fromSequence(1, 50).map((x: number) => x + 1).collect('out'); });\n",
    );
    const { artifact } = await uploadProgramFile(client, program);
    const { jobId } = await client.jobs.submit.mutate({ artifactId: artifact.id, parallelism: 2 });
    let job = await client.jobs.get.query({ jobId });
    for (
      const deadline = Date.now() + 60_000;
      !['FINISHED', 'FAILED', 'CANCELED'].includes(job.status) && Date.now() < deadline;
    ) {
      await new Promise((r) => setTimeout(r, 200));
      job = await client.jobs.get.query({ jobId });
    }
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    const { collections } = await client.jobs.collected.query({ jobId, collectId: 'out' });
    expect(collections[0]?.records).toHaveLength(50);
    // Without the CA, TLS refuses the certificate before any request is made.
    await expect(fetch(`${jm.url}/healthz`)).rejects.toThrow();
  }, 120_000);
});
