// A JobManager and two TaskManager processes whose data plane runs over mutual TLS (certificates
// of one cluster CA, made by openssl): a keyed job at parallelism 2, one subtask on each
// TaskManager, sends its records across the exchange and comes out right; meanwhile a plain-TCP
// peer and a TLS peer whose certificate another CA signed are refused, in words and in the log,
// and the job does not notice. A job over a TLS TaskManager and a plain one fails, saying why.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobManagerClient, uploadProgramFile } from '@freshet/jobmanager/client';
import { ensureBuilt, ProcessGroup, type TaskManagerProcess } from '@freshet/jobmanager/testing';
import { issueTestCertificate, makeTestCa, type TestCertificate } from '@freshet/runtime/testing';

const N = 8_000;
const KEYS = 13;
const PROGRAM = `
import type { StreamExecutionEnvironment } from '@freshet/api';
export default (env: StreamExecutionEnvironment) => {
  env
    .fromSequence(0, ${N - 1})
    .map((x) => ({ k: x % ${KEYS}, v: x }))
    .keyBy((r) => r.k)
    .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
    .collect('sums');
};
`;

const group = new ProcessGroup();
let work: string;
let ca: TestCertificate;
let otherCa: TestCertificate;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'freshet-dp-tls-'));
  ca = makeTestCa(work, 'cluster');
  otherCa = makeTestCa(work, 'other');
}, 240_000);
afterAll(async () => {
  await group.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

const tlsArgs = (cert: TestCertificate): string[] => [
  '--data-tls-cert',
  cert.certFile,
  '--data-tls-key',
  cert.keyFile,
  '--data-tls-ca',
  ca.certFile,
];

/** The HELLO_ACK a connection got back before it closed (JSON after the 8-byte frame header). */
function ackOf(socket: Socket, hello: Uint8Array): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const bytes = Buffer.concat(chunks);
      if (bytes.byteLength < 8) reject(new Error('closed without a HELLO_ACK'));
      else resolve(JSON.parse(bytes.subarray(8).toString('utf8')) as { ok: boolean; error?: string });
    });
    socket.write(hello);
  });
}

/** A HELLO frame of job `jobId` for `to`, with a MAC that does not matter: it is refused before. */
function hello(jobId: string, to: string): Uint8Array {
  const json = Buffer.from(
    JSON.stringify({
      version: 2,
      jobId,
      attempt: 0,
      region: 0,
      from: 'intruder',
      to,
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
      mac: 'A'.repeat(43),
    }),
  );
  const frame = Buffer.alloc(8 + json.byteLength);
  frame.writeUInt32LE(0, 0);
  frame.writeUInt32LE(((1 << 28) | json.byteLength) >>> 0, 4);
  json.copy(frame, 8);
  return frame;
}

/** Knocks on `tm`'s data port in plain TCP and over TLS with a certificate of another CA. */
async function intrude(tm: TaskManagerProcess, jobId: string): Promise<string[]> {
  const plain = connect({ host: '127.0.0.1', port: tm.dataPort });
  await new Promise((r) => plain.once('connect', r));
  const plainAck = await ackOf(plain, hello(jobId, tm.taskManagerId));
  const stranger = issueTestCertificate(otherCa, work, `stranger-${tm.taskManagerId}`);
  const secure = tlsConnect({
    host: '127.0.0.1',
    port: tm.dataPort,
    cert: stranger.cert,
    key: stranger.key,
    ca: ca.cert,
  });
  await new Promise((r) => secure.once('secureConnect', r));
  const secureAck = await ackOf(secure, hello(jobId, tm.taskManagerId));
  expect(plainAck.ok).toBe(false);
  expect(secureAck.ok).toBe(false);
  return [plainAck.error ?? '', secureAck.error ?? ''];
}

describe('data plane over mutual TLS', () => {
  it('runs a keyed job across two TLS TaskManagers right, refuses plain and foreign peers meanwhile, and a job over a plain one fails saying why', async () => {
    const db = await group.createDatabase();
    const jm = await group.startJobManager(db);
    const [tm1, tm2] = await Promise.all(
      ['tm-1', 'tm-2'].map((id) =>
        group.startTaskManager({
          jobManagerUrl: jm.url,
          slots: 1,
          args: ['--resource-id', id, ...tlsArgs(issueTestCertificate(ca, work, id))],
        }),
      ),
    );
    expect(tm1!.logs.some((l) => l.msg.includes('(mutual TLS)') && l.tls === true)).toBe(true);
    const file = join(work, 'keyed.ts');
    await writeFile(file, PROGRAM);
    const client = createJobManagerClient(jm.url, { token: jm.adminToken });
    const upload = await uploadProgramFile(client, file);
    const { jobId } = await client.jobs.submit.mutate({ artifactId: upload.artifact.id, parallelism: 2 });

    // While the job deploys and runs, intruders knock on both data ports.
    const refusals = [...(await intrude(tm1!, jobId)), ...(await intrude(tm2!, jobId))];
    expect(
      refusals.filter((e) => /requires TLS on its data plane, and the peer connected in plain TCP/.test(e)),
    ).toHaveLength(2);
    expect(
      refusals.filter((e) =>
        /TLS certificate \(stranger-.*\) is not signed by this TaskManager's data-plane CA/.test(e),
      ),
    ).toHaveLength(2);

    const deadline = Date.now() + 60_000;
    let job = await client.jobs.get.query({ jobId });
    while (!['FINISHED', 'FAILED', 'CANCELED'].includes(job.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      job = await client.jobs.get.query({ jobId });
    }
    expect(job.status, job.failureCause ?? '').toBe('FINISHED');
    for (const tm of [tm1!, tm2!]) {
      expect(tm.logs.some((l) => l.msg.startsWith(`Deploying job ${jobId}`))).toBe(true);
      const logged = tm.logs.filter((l) => l.msg.startsWith('Refused a data connection from 127.0.0.1:'));
      expect(logged.map((l) => String(l.reason))).toEqual([
        expect.stringMatching(/requires TLS on its data plane/),
        expect.stringMatching(/is not signed by this TaskManager's data-plane CA/),
      ]);
    }

    const { collections } = await client.jobs.collected.query({ jobId, collectId: 'sums' });
    const records = (collections[0]?.records ?? []) as { k: number; v: number }[];
    // Every record crossed the keyed exchange once: one running sum per record, the last of each key its total.
    expect(records).toHaveLength(N);
    const final = new Map<number, number>();
    for (const r of records) final.set(r.k, Math.max(final.get(r.k) ?? 0, r.v));
    const expected = new Map<number, number>();
    for (let x = 0; x < N; x++) expected.set(x % KEYS, (expected.get(x % KEYS) ?? 0) + x);
    expect(final).toEqual(expected);

    // A TaskManager without TLS in place of tm-2: a job over it and tm-1 cannot connect its data
    // plane, fails at once saying why, and the refusing side logs it.
    await tm2!.stop();
    const tm3 = await group.startTaskManager({
      jobManagerUrl: jm.url,
      slots: 1,
      args: ['--resource-id', 'tm-3'],
    });
    const mixed = await client.jobs.submit.mutate({ artifactId: upload.artifact.id, parallelism: 2 });
    let failed = await client.jobs.get.query({ jobId: mixed.jobId });
    for (
      const until = Date.now() + 60_000;
      !['FINISHED', 'FAILED', 'CANCELED'].includes(failed.status) && Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 200));
      failed = await client.jobs.get.query({ jobId: mixed.jobId });
    }
    expect(failed.status).toBe('FAILED');
    expect(failed.failureCause).toMatch(
      /data-plane TLS refused: the peer answered in plain TCP|requires TLS on its data plane/,
    );
    expect(
      [...tm1!.logs, ...tm3.logs].some(
        (l) => l.msg.startsWith('Refused a data connection') && /TLS/.test(String(l.reason)),
      ),
    ).toBe(true);
  }, 180_000);
});
