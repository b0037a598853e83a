// The TCP data plane between two TaskManager endpoints in one process, over real sockets.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelEvent } from '../../codec/events.js';
import { NetworkEnvironment } from '../environment.js';
import { DataPlane, type JobLinks } from './data-plane.js';
import {
  creditFrame,
  FrameDecoder,
  FrameProtocolError,
  FrameType,
  jsonFrame,
  writeFrameHeader,
  type FrameHeader,
} from './frames.js';
import { handshakeNonce, helloMac } from './handshake-auth.js';
import { TcpPeerConnection } from './tcp-connection.js';
import { connectTestPair, TEST_PAIR_SECRET } from '../../testing/data-plane-pair.js';

/** The job attempt's data-plane secret both ends were given. */
const SECRET = TEST_PAIR_SECRET;

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.close()));
});

async function pair(jobId = 'job-1'): Promise<{ a: DataPlane; b: DataPlane; la: JobLinks; lb: JobLinks }> {
  const a = await DataPlane.listen();
  const b = await DataPlane.listen();
  planes.push(a, b);
  a.taskManagerId = 'tm-a';
  b.taskManagerId = 'tm-b';
  const { la, lb } = connectTestPair(a, b, jobId);
  await Promise.all([la.ready, lb.ready]);
  return { a, b, la, lb };
}

const batch = (i: number, size = 100): ChannelEvent => ({
  kind: 'batch',
  values: Array.from({ length: size }, (_, j) => ({ i, j, s: 'x'.repeat(20) })),
  timestamps: new Float64Array(size),
});

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('frames', () => {
  it('cuts frames out of a stream split at every byte boundary', () => {
    const data = new Uint8Array(8 + 5);
    data.set([1, 2, 3, 4, 5], 8);
    writeFrameHeader(data, FrameType.DATA, 42);
    const stream = new Uint8Array([
      ...data,
      ...creditFrame([7, 3, 9, 1]),
      ...jsonFrame(FrameType.CLOSE, { reason: 'finished' }),
    ]);
    for (const step of [1, 3, 8, 13, stream.length]) {
      const got: [FrameHeader, Uint8Array][] = [];
      const decoder = new FrameDecoder((h, f) => got.push([h, f]));
      for (let i = 0; i < stream.length; i += step) decoder.push(stream.subarray(i, i + step));
      expect(got.map(([h]) => h)).toEqual([
        { type: FrameType.DATA, channel: 42, length: 5 },
        { type: FrameType.CREDIT, channel: 0, length: 16 },
        { type: FrameType.CLOSE, channel: 0, length: 21 },
      ]);
      expect([...got[0]![1].subarray(8)]).toEqual([1, 2, 3, 4, 5]);
      expect(got[0]![1].byteOffset).toBe(0);
    }
  });

  it('rejects a frame header with an unknown type', () => {
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(4, (9 << 28) | 0, true);
    expect(() => {
      new FrameDecoder(() => undefined).push(bad);
    }).toThrow(FrameProtocolError);
  });
});

describe('TCP data plane', () => {
  it('multiplexes channels over one connection; a slow consumer backpressures only its own channel', async () => {
    const { la, lb } = await pair();
    expect(la.links.size).toBe(1);
    // Slot 0 on tm-a produces channels 1 and 2; slot 1 on tm-b consumes them.
    const envA = new NetworkEnvironment({
      slot: 0,
      connections: new Map([[1, new TcpPeerConnection(la.links.get('tm-b')!)]]),
      initialCredits: 4,
    });
    const envB = new NetworkEnvironment({
      slot: 1,
      connections: new Map([[0, new TcpPeerConnection(lb.links.get('tm-a')!)]]),
      initialCredits: 4,
    });
    const slowIn = envB.createInputChannel(1, 0, 0);
    const fastIn = envB.createInputChannel(2, 0, 0);
    const slowOut = envA.createOutputChannel(1, 1);
    const fastOut = envA.createOutputChannel(2, 1);
    const N = 200;
    for (let i = 0; i < N; i++) {
      slowOut.send(batch(i));
      fastOut.send(batch(i));
    }
    slowOut.send({ kind: 'end' });
    fastOut.send({ kind: 'end' });
    // Only 4 batches (the initial credits) of each channel leave at first.
    expect(slowOut.backlogSize).toBe(N - 4 + 1);
    expect(fastOut.backlogSize).toBe(N - 4 + 1);

    // The fast consumer drains its channel completely while the slow one takes nothing.
    const fast: ChannelEvent[] = [];
    await until(() => {
      for (let e = fastIn.poll(); e; e = fastIn.poll()) fast.push(e);
      return fast.at(-1)?.kind === 'end';
    });
    expect(fast).toHaveLength(N + 1);
    expect(fast.slice(0, N).map((e) => (e.kind === 'batch' ? (e.values[0] as { i: number }).i : -1))).toEqual(
      Array.from({ length: N }, (_, i) => i),
    );
    expect(fastOut.backlogSize).toBe(0);
    expect(slowIn.size).toBe(4);
    expect(slowOut.backlogSize).toBe(N - 4 + 1);

    // Then the slow consumer catches up, in order.
    const slow: ChannelEvent[] = [];
    await until(() => {
      for (let e = slowIn.poll(); e; e = slowIn.poll()) slow.push(e);
      return slow.at(-1)?.kind === 'end';
    });
    expect(slow).toHaveLength(N + 1);
    expect(slowIn.bytesIn).toBeGreaterThan(N * 100 * 20);
    // Coalesced: far fewer socket writes than frames.
    const stats = la.links.get('tm-b')!.stats;
    expect(stats.framesOut).toBeGreaterThanOrEqual(2 * N + 2);
    expect(stats.flushes).toBeLessThan(stats.framesOut);
  });

  it('waits for a job that is deployed after its peer dialed', async () => {
    const a = await DataPlane.listen();
    const b = await DataPlane.listen();
    planes.push(a, b);
    const la = a.connectJob({
      jobId: 'late',
      attempt: 2,
      self: 'tm-a',
      secret: SECRET,
      peers: [{ taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port }],
    });
    await new Promise((r) => setTimeout(r, 100));
    const lb = b.connectJob({
      jobId: 'late',
      attempt: 2,
      self: 'tm-b',
      secret: SECRET,
      peers: [{ taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port }],
    });
    await Promise.all([la.ready, lb.ready]);
    expect(lb.links.get('tm-a')?.peerId).toBe('tm-a');
  });

  it('refuses a TaskManager that is not part of the job', async () => {
    const a = await DataPlane.listen();
    const b = await DataPlane.listen({ acceptTimeoutMs: 2000 });
    planes.push(a, b);
    b.connectJob({
      jobId: 'j',
      attempt: 0,
      self: 'tm-b',
      secret: SECRET,
      peers: [{ taskManagerId: 'tm-0', host: '127.0.0.1', dataPort: 1 }],
      timeoutMs: 3000,
    });
    const la = a.connectJob({
      jobId: 'j',
      attempt: 0,
      self: 'tm-a',
      secret: SECRET,
      peers: [{ taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port }],
      timeoutMs: 3000,
    });
    await expect(la.ready).rejects.toThrow(
      /tm-b refused the data connection: TaskManager tm-a is not part of job j/,
    );
  });

  it('refuses a handshake for an attempt the admission check fences, at once, and keeps regions apart', async () => {
    const a = await DataPlane.listen();
    const b = await DataPlane.listen({ acceptTimeoutMs: 20_000 });
    planes.push(a, b);
    a.taskManagerId = 'tm-a';
    b.taskManagerId = 'tm-b';
    // tm-b runs attempt 3 of region 1: anything older of that job is stale.
    b.admission = (jobId, attempt) => !(jobId === 'f' && attempt < 3);
    const started = Date.now();
    const stale = a.connectJob({
      jobId: 'f',
      attempt: 2,
      region: 1,
      self: 'tm-a',
      secret: SECRET,
      peers: [{ taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port }],
      timeoutMs: 10_000,
    });
    await expect(stale.ready).rejects.toThrow(
      /refused the data connection: .*attempt 2 \(a newer attempt replaced it\)/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    // The same job and attempt in another region is another connection.
    const links = [0, 1].map((region) => ({
      a: a.connectJob({
        jobId: 'f',
        attempt: 3,
        region,
        self: 'tm-a',
        secret: SECRET,
        peers: [{ taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port }],
        timeoutMs: 5000,
      }),
      b: b.connectJob({
        jobId: 'f',
        attempt: 3,
        region,
        self: 'tm-b',
        secret: SECRET,
        peers: [{ taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port }],
        timeoutMs: 5000,
      }),
    }));
    await Promise.all(links.flatMap((l) => [l.a.ready, l.b.ready]));
    expect(links[0]!.b.links.get('tm-a')).not.toBe(links[1]!.b.links.get('tm-a'));
  });

  it('reports a peer that disappears, naming it', async () => {
    const { la, lb } = await pair('lossy');
    const lost: Error[] = [];
    la.links
      .get('tm-b')!
      .open({ onData: () => undefined, onCredit: () => undefined, onLost: (e) => lost.push(e) });
    lb.links.get('tm-a')!.destroy();
    await until(() => lost.length > 0);
    expect(lost[0]!.message).toMatch(/lost the data connection to TaskManager tm-b/);
  });

  it('a CLOSE that arrived before the link was opened is not a loss either', async () => {
    const { la, lb } = await pair('early-close');
    lb.close({ reason: 'finished' });
    await new Promise((r) => setTimeout(r, 100));
    const lost: Error[] = [];
    const closed: string[] = [];
    la.links.get('tm-b')!.open({
      onData: () => undefined,
      onCredit: () => undefined,
      onLost: (e) => lost.push(e),
      onPeerClosed: (c) => closed.push(c.reason),
    });
    expect(closed).toEqual(['finished']);
    expect(lost).toEqual([]);
    la.close();
  });

  it('a CLOSE from the peer is not a loss', async () => {
    const { la, lb } = await pair('clean');
    const lost: Error[] = [];
    const closed: string[] = [];
    la.links.get('tm-b')!.open({
      onData: () => undefined,
      onCredit: () => undefined,
      onLost: (e) => lost.push(e),
      onPeerClosed: (c) => closed.push(c.reason),
    });
    lb.close({ reason: 'finished' });
    await until(() => closed.length > 0);
    la.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toEqual(['finished']);
    expect(lost).toEqual([]);
  });
});

/** Opens a raw TCP connection to `port` and collects what comes back until it closes. */
function rawConnection(
  port: number,
): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      resolve({ socket, received: () => Buffer.concat(chunks), closed });
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        r();
      }),
    );
    socket.once('error', reject);
  });
}

/** The HELLO_ACK in the bytes a raw connection received. */
function ackIn(bytes: Buffer): { ok: boolean; error?: string } {
  return JSON.parse(bytes.subarray(8).toString('utf8')) as { ok: boolean; error?: string };
}

describe('data-plane handshake', () => {
  it('refuses a forged HELLO for a connected job and leaves the job’s link alone', async () => {
    const { b, la, lb } = await pair('guarded');
    const link = lb.links.get('tm-a')!;
    const fields = {
      jobId: 'guarded',
      attempt: 0,
      region: 0,
      from: 'tm-a',
      to: 'tm-b',
      nonce: handshakeNonce(),
    };
    for (const mac of ['A'.repeat(43), helloMac('a-guessed-secret-0123456789', fields)]) {
      const raw = await rawConnection(b.port);
      raw.socket.write(jsonFrame(FrameType.HELLO, { version: 2, ...fields, mac }));
      await raw.closed;
      const ack = ackIn(raw.received());
      expect(ack.ok).toBe(false);
      expect(ack.error).toMatch(/not authenticated/);
    }
    // The job still has its link, and it still carries data.
    expect(lb.links.get('tm-a')).toBe(link);
    const got: number[] = [];
    link.open({ onData: (channel) => got.push(channel), onCredit: () => undefined });
    la.links.get('tm-b')!.open({ onData: () => undefined, onCredit: () => undefined });
    const frame = new Uint8Array(8 + 3);
    la.links.get('tm-b')!.sendData(7, frame);
    await until(() => got.length === 1);
    expect(got).toEqual([7]);
  });

  it('refuses a replayed HELLO', async () => {
    const b = await DataPlane.listen();
    planes.push(b);
    b.taskManagerId = 'tm-b';
    const lb = b.connectJob({
      jobId: 'replay',
      attempt: 1,
      self: 'tm-b',
      peers: [{ taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: 1 }],
      secret: SECRET,
      timeoutMs: 5000,
    });
    const fields = {
      jobId: 'replay',
      attempt: 1,
      region: 0,
      from: 'tm-a',
      to: 'tm-b',
      nonce: handshakeNonce(),
    };
    const hello = jsonFrame(FrameType.HELLO, { version: 2, ...fields, mac: helloMac(SECRET, fields) });
    const first = await rawConnection(b.port);
    first.socket.write(hello);
    await lb.ready;
    const admitted = lb.links.get('tm-a');
    const again = await rawConnection(b.port);
    again.socket.write(hello);
    await again.closed;
    expect(ackIn(again.received())).toMatchObject({ ok: false });
    expect(lb.links.get('tm-a')).toBe(admitted);
    first.socket.destroy();
  });

  it('checks the acceptor too: a listener without the secret is not taken for the peer', async () => {
    const impostor = createServer((s) => {
      s.once('data', () => {
        s.write(jsonFrame(FrameType.HELLO_ACK, { ok: true, taskManagerId: 'tm-b', mac: 'B'.repeat(43) }));
      });
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const a = await DataPlane.listen();
    planes.push(a);
    const la = a.connectJob({
      jobId: 'j',
      attempt: 0,
      self: 'tm-a',
      peers: [
        { taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: (impostor.address() as AddressInfo).port },
      ],
      secret: SECRET,
      timeoutMs: 3000,
    });
    await expect(la.ready).rejects.toThrow(/did not prove it holds the data-plane secret/);
    impostor.close();
  });

  it('caps frames before the handshake, and bounds unfinished handshakes in number and time', async () => {
    const b = await DataPlane.listen({ maxPendingHandshakes: 3, handshakeTimeoutMs: 300 });
    planes.push(b);
    // A header claiming a 50 MiB HELLO: closed at once, nothing allocated for it.
    const huge = await rawConnection(b.port);
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(4, ((FrameType.HELLO << 28) | (50 * 1024 * 1024)) >>> 0, true);
    huge.socket.write(header);
    await huge.closed;
    // Silent connections: three wait, the fourth is closed at once, and all are gone after the timeout.
    const silent = await Promise.all([0, 1, 2].map(() => rawConnection(b.port)));
    await until(() => b.pendingHandshakes === 3);
    const extra = await rawConnection(b.port);
    const extraClosedAt = Date.now();
    await extra.closed;
    expect(Date.now() - extraClosedAt).toBeLessThan(250);
    await Promise.all(silent.map((s) => s.closed));
    await until(() => b.pendingHandshakes === 0, 1000);
  });

  it('caps the frames of an established link (configurable)', async () => {
    const a = await DataPlane.listen();
    const b = await DataPlane.listen({ maxFramePayload: 1024 });
    planes.push(a, b);
    const [la, lb] = [
      a.connectJob({
        jobId: 'cap',
        attempt: 0,
        self: 'tm-a',
        peers: [{ taskManagerId: 'tm-b', host: '127.0.0.1', dataPort: b.port }],
        secret: SECRET,
      }),
      b.connectJob({
        jobId: 'cap',
        attempt: 0,
        self: 'tm-b',
        peers: [{ taskManagerId: 'tm-a', host: '127.0.0.1', dataPort: a.port }],
        secret: SECRET,
      }),
    ];
    await Promise.all([la.ready, lb.ready]);
    const lost: Error[] = [];
    lb.links
      .get('tm-a')!
      .open({ onData: () => undefined, onCredit: () => undefined, onLost: (e) => lost.push(e) });
    la.links.get('tm-b')!.open({ onData: () => undefined, onCredit: () => undefined });
    la.links.get('tm-b')!.sendData(1, new Uint8Array(8 + 4096));
    await until(() => lost.length > 0);
    expect(lost[0]!.message).toMatch(/exceeds the 1024-byte limit/);
  });
});
