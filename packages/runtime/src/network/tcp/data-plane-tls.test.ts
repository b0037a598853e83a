// The data plane over mutual TLS between endpoints in one process, over real sockets, with
// certificates made by openssl: links carry data as over plain TCP; a plain-TCP peer, a TLS peer
// of a plain data plane, and a peer whose certificate another CA signed are refused at once, in
// words, on both sides, without touching a connected job.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { issueTestCertificate, makeTestCa, type TestCertificate } from '../../testing/certificates.js';
import { connectTestPair, TEST_PAIR_SECRET } from '../../testing/data-plane-pair.js';
import { DataPlane, type DataPlaneOptions, type DataPlaneRefusal, type JobLinks } from './data-plane.js';
import type { DataPlaneTlsOptions } from './data-plane-tls.js';
import { FrameDecoder, FrameType, jsonFrame, type FrameHeader } from './frames.js';
import { handshakeNonce, helloMac } from './handshake-auth.js';

const SECRET = TEST_PAIR_SECRET;

const dir = mkdtempSync(join(tmpdir(), 'freshet-dp-tls-'));
const clusterCa = makeTestCa(dir, 'cluster');
const otherCa = makeTestCa(dir, 'other');
const tlsOf = (cert: TestCertificate, ca: TestCertificate): DataPlaneTlsOptions => ({
  cert: cert.cert,
  key: cert.key,
  ca: ca.cert,
});
const tmA = tlsOf(issueTestCertificate(clusterCa, dir, 'tm-a'), clusterCa);
const tmB = tlsOf(issueTestCertificate(clusterCa, dir, 'tm-b'), clusterCa);
const stranger = tlsOf(issueTestCertificate(otherCa, dir, 'stranger'), clusterCa);

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.close()));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A listening data plane that records its refusals. */
async function plane(
  id: string,
  options: DataPlaneOptions,
): Promise<{ plane: DataPlane; refusals: DataPlaneRefusal[] }> {
  const refusals: DataPlaneRefusal[] = [];
  const p = await DataPlane.listen({ ...options, onRefused: (r) => refusals.push(r) });
  p.taskManagerId = id;
  planes.push(p);
  return { plane: p, refusals };
}

/** Sends 200 DATA frames from tm-a to tm-b and checks they all arrive, in order. */
async function carriesData(la: JobLinks, lb: JobLinks): Promise<void> {
  const got: number[] = [];
  lb.links.get('tm-a')!.open({
    onData: (channel, frame) => got.push(channel * 1000 + frame.byteLength),
    onCredit: () => undefined,
  });
  la.links.get('tm-b')!.open({ onData: () => undefined, onCredit: () => undefined });
  for (let i = 0; i < 200; i++) la.links.get('tm-b')!.sendData(i % 7, new Uint8Array(8 + i));
  const deadline = Date.now() + 5000;
  while (got.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(got).toEqual(Array.from({ length: 200 }, (_, i) => (i % 7) * 1000 + 8 + i));
}

/** Dials `port` over TLS as `as` would, sends a valid HELLO of job `jobId`, returns the HELLO_ACK. */
async function helloOverTls(port: number, as: DataPlaneTlsOptions, jobId: string): Promise<unknown> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...as });
    s.once('secureConnect', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const fields = { jobId, attempt: 0, region: 0, from: 'tm-a', to: 'tm-b', nonce: handshakeNonce() };
  socket.write(jsonFrame(FrameType.HELLO, { version: 2, ...fields, mac: helloMac(SECRET, fields) }));
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder((header: FrameHeader, frame) => {
      resolve(JSON.parse(Buffer.from(frame.subarray(8)).toString('utf8')));
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      reject(new Error('closed without a HELLO_ACK'));
    });
  });
}

describe('data plane over mutual TLS', () => {
  it('connects two TLS data planes and carries data over the link', async () => {
    const a = await plane('tm-a', { tls: tmA });
    const b = await plane('tm-b', { tls: tmB });
    expect(a.plane.tls).toBe(true);
    const { la, lb } = connectTestPair(a.plane, b.plane, 'secure');
    await Promise.all([la.ready, lb.ready]);
    await carriesData(la, lb);
    expect([...a.refusals, ...b.refusals]).toEqual([]);
  });

  it('a CLOSE over TLS half-closes the link: the peer sees it as done, not lost', async () => {
    const a = await plane('tm-a', { tls: tmA });
    const b = await plane('tm-b', { tls: tmB });
    const { la, lb } = connectTestPair(a.plane, b.plane, 'clean');
    await Promise.all([la.ready, lb.ready]);
    const lost: Error[] = [];
    const closed: string[] = [];
    la.links.get('tm-b')!.open({
      onData: () => undefined,
      onCredit: () => undefined,
      onLost: (e) => lost.push(e),
      onPeerClosed: (c) => closed.push(c.reason),
    });
    lb.close({ reason: 'finished' });
    const deadline = Date.now() + 5000;
    while (closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    la.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toEqual(['finished']);
    expect(lost).toEqual([]);
  });

  it('refuses a plain-TCP peer and a TLS peer of a plain data plane at once, saying why on both sides', async () => {
    const secure = await plane('tm-b', { tls: tmB });
    const plain = await plane('tm-a', {});
    const started = Date.now();
    const { la } = connectTestPair(plain.plane, secure.plane, 'mixed');
    await expect(la.ready).rejects.toThrow(
      /requires TLS on its data plane, and the peer connected in plain TCP/,
    );
    expect(secure.refusals[0]?.reason).toMatch(/requires TLS/);
    expect(secure.refusals[0]?.peer).toMatch(/^127\.0\.0\.1:\d+$/);

    const secureDialer = await plane('tm-a', { tls: tmA });
    const plainAcceptor = await plane('tm-b', {});
    const { la: la2 } = connectTestPair(secureDialer.plane, plainAcceptor.plane, 'mixed-2');
    await expect(la2.ready).rejects.toThrow(
      /the peer answered in plain TCP: its data plane runs without TLS/,
    );
    expect(plainAcceptor.refusals[0]?.reason).toMatch(
      /runs its data plane without TLS, and the peer opened a TLS connection/,
    );
    // Refused for good, not retried until the connect timeout.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a certificate of another CA, and one that presents none, leaving a connected job alone', async () => {
    const a = await plane('tm-a', { tls: tmA });
    const b = await plane('tm-b', { tls: tmB });
    const { la, lb } = connectTestPair(a.plane, b.plane, 'guarded');
    await Promise.all([la.ready, lb.ready]);
    const link = lb.links.get('tm-a');

    // A dialer whose certificate another CA signed (it holds the job's secret even): told why over TLS.
    expect(await helloOverTls(b.plane.port, stranger, 'guarded')).toMatchObject({
      ok: false,
      error: expect.stringMatching(
        /certificate \(stranger\) is not signed by this TaskManager's data-plane CA/,
      ),
    });
    expect(
      await helloOverTls(b.plane.port, { ca: clusterCa.cert } as DataPlaneTlsOptions, 'guarded'),
    ).toMatchObject({
      ok: false,
      error: 'the peer presented no TLS certificate',
    });
    expect(b.refusals.map((r) => r.reason)).toEqual([
      expect.stringMatching(/not signed by this TaskManager's data-plane CA/),
      'the peer presented no TLS certificate',
    ]);
    expect(lb.links.get('tm-a')).toBe(link);
    await carriesData(la, lb);
  });

  it('a dialer refuses an acceptor whose certificate another CA signed, for good', async () => {
    const a = await plane('tm-a', { tls: tmA });
    const b = await plane('tm-b', { tls: { ...stranger, ca: otherCa.cert } });
    const started = Date.now();
    const { la } = connectTestPair(a.plane, b.plane, 'impostor');
    await expect(la.ready).rejects.toThrow(/certificate is not signed by this TaskManager's data-plane CA/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('bounds a TLS handshake that stalls by the handshake timeout', async () => {
    const b = await plane('tm-b', { tls: tmB, handshakeTimeoutMs: 300 });
    const socket = netConnect({ host: '127.0.0.1', port: b.plane.port });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => {
      socket.once('close', () => {
        r();
      });
    });
    // The first byte of a TLS record, then nothing.
    socket.write(Buffer.from([0x16]));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
    for (const deadline = Date.now() + 1000; b.plane.pendingHandshakes > 0 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 5));
    expect(b.plane.pendingHandshakes).toBe(0);
    expect(b.refusals[0]?.reason).toMatch(/TLS handshake failed/);
  });

  it('fails to listen with a key that is not the certificate’s', async () => {
    await expect(DataPlane.listen({ tls: { ...tmA, key: stranger.key } })).rejects.toThrow(
      /key values mismatch/,
    );
  });
});
