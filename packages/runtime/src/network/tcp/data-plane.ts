/**
 * A TaskManager's data-plane endpoint: the TCP listener other TaskManagers
 * dial, and the dialing of its own connections. Per job attempt and
 * pipelined region there is one connection per pair of TaskManagers; the
 * TaskManager with the lower id dials (so two TaskManagers never open two
 * connections to each other), and a handshake names the job, the attempt,
 * the region and both ends, authenticated both ways with the attempt's
 * secret (`handshake-auth.ts`): a HELLO without the right MAC, or replayed,
 * is refused and never touches the job's links. A connection for a
 * deployment this TaskManager has not been told about yet (its deploy
 * command may arrive a little later) waits until it registers, or times out
 * — unless the TaskManager's admission check says the attempt is one it will
 * never run (fenced: an older attempt of those subtasks), which is refused
 * at once. Connections that have not completed the handshake are bounded in
 * number and time, and every frame's length is capped (handshake frames at
 * {@link HANDSHAKE_FRAME_LIMIT}, before anything is allocated for them).
 * With {@link DataPlaneOptions.tls} every connection runs over mutual TLS
 * (`data-plane-tls.ts`) and plain-TCP peers are refused; without it TLS
 * peers are refused. Either way a refusal touches no job's links.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameDecoder,
  FrameProtocolError,
  FrameType,
  HANDSHAKE_FRAME_LIMIT,
  HelloAckSchema,
  HelloSchema,
  jsonFrame,
  parseJsonPayload,
  type Close,
  type FrameHeader,
  type Hello,
  type HelloAck,
} from './frames.js';
import {
  DataPlaneTls,
  describeTlsFailure,
  isTlsFailure,
  opensTls,
  type DataPlaneTlsOptions,
} from './data-plane-tls.js';
import {
  ackMac,
  handshakeNonce,
  helloMac,
  verifyAck,
  verifyHello,
  type HandshakeFields,
} from './handshake-auth.js';
import { PeerLink } from './peer-link.js';

/** Where a peer TaskManager listens. */
export interface PeerAddress {
  taskManagerId: string;
  host: string;
  dataPort: number;
}

/** Options of {@link DataPlane.listen}. */
export interface DataPlaneOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** How long an incoming connection waits for its job to be deployed here. @default 30000 */
  acceptTimeoutMs?: number;
  /** How long an incoming connection may take to send its HELLO. @default 10000 */
  handshakeTimeoutMs?: number;
  /** Incoming connections that have not completed the handshake (reading it, or waiting for their job); more are closed at once. @default 64 */
  maxPendingHandshakes?: number;
  /** Largest frame payload accepted from a peer. @default MAX_FRAME_PAYLOAD (64 MiB) */
  maxFramePayload?: number;
  /** Mutual TLS for every connection, accepted and dialed; peers without it are refused. @default undefined (plain TCP) */
  tls?: DataPlaneTlsOptions;
  /** Told about every incoming connection refused (to log it); the peer is told too, when it can read it. */
  onRefused?: (refusal: DataPlaneRefusal) => void;
}

/** An incoming data connection the data plane refused. */
export interface DataPlaneRefusal {
  /** The peer's address, `host:port`. */
  peer: string;
  /** Why, in words. */
  reason: string;
}

/** Options of {@link DataPlane.connectJob}. */
export interface ConnectJobOptions {
  jobId: string;
  attempt: number;
  /** The pipelined region the connections serve. @default 0 */
  region?: number;
  /** This TaskManager's id. */
  self: string;
  /** The other TaskManagers of the job (this one excluded). */
  peers: readonly PeerAddress[];
  /** The attempt's data-plane secret (from the deploy command): both ends of every connection prove they hold it. */
  secret: string;
  /** Time to establish every connection. @default 30000 */
  timeoutMs?: number;
}

interface Parked {
  hello: Hello;
  socket: Socket;
  leftover: Uint8Array;
  timer: NodeJS.Timeout;
}

const jobKey = (jobId: string, attempt: number, region: number): string => `${jobId}#${attempt}#${region}`;

/**
 * Whether a handshake for a deployment this TaskManager does not run (yet)
 * may wait for it: false refuses it at once.
 */
export type DataPlaneAdmission = (jobId: string, attempt: number, region: number) => boolean;

/**
 * Feeds what a fresh socket receives to `take` until it returns a value
 * (or throws), then leaves the socket paused for whoever reads next.
 */
function readUntil<T>(socket: Socket, timeoutMs: number, take: (chunk: Buffer) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      let value: T | undefined;
      try {
        value = take(chunk);
      } catch (error) {
        cleanup();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value !== undefined) {
        cleanup();
        socket.pause();
        resolve(value);
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('connection closed during the handshake'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    // An accepted socket was paused after its first byte was read (see readFirstByte).
    socket.resume();
  });
}

/** Reads exactly one frame from a fresh socket, then hands the socket over. */
function readFirstFrame(
  socket: Socket,
  timeoutMs: number,
): Promise<{ header: FrameHeader; frame: Uint8Array; leftover: Uint8Array }> {
  let got: { header: FrameHeader; frame: Uint8Array } | undefined;
  const decoder = new FrameDecoder((header, frame) => {
    if (!got) got = { header, frame };
  }, HANDSHAKE_FRAME_LIMIT);
  return readUntil(socket, timeoutMs, (chunk) => {
    // Feed byte by byte until the first frame is out; the rest belongs to the link. (Pieces of
    // several bytes could run into the next frame — data the acceptor sends right after its
    // HELLO_ACK, as a TaskManager serving partitions does — and lose its start.)
    for (let i = 0; i < chunk.byteLength;) {
      decoder.push(chunk.subarray(i, i + 1));
      i += 1;
      if (got) return { ...got, leftover: new Uint8Array(chunk.subarray(i)) };
    }
    return undefined;
  });
}

/** Reads the first byte of an accepted connection and puts it back, leaving the socket paused. */
function readFirstByte(socket: Socket, timeoutMs: number): Promise<number> {
  return readUntil(socket, timeoutMs, (chunk) => {
    if (chunk.byteLength === 0) return undefined;
    socket.pause();
    socket.unshift(chunk);
    return chunk[0];
  });
}

/** `host:port` of the other end of `socket`. */
const remote = (socket: Socket): string => `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;

/** The connections of one job attempt to the other TaskManagers. */
export class JobLinks {
  /** Established links, by peer TaskManager id. */
  readonly links = new Map<string, PeerLink>();
  /** Resolves when every peer is connected; rejects naming the peers that could not be reached. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  private readonly expected: Set<string>;
  private readonly timer: NodeJS.Timeout;
  /** Nonces of the HELLOs admitted: a replayed one is refused. */
  private readonly nonces = new Set<string>();
  private closed = false;

  constructor(
    readonly options: ConnectJobOptions,
    private readonly unregister: () => void,
  ) {
    this.expected = new Set(options.peers.map((p) => p.taskManagerId));
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.timer = setTimeout(() => {
      const missing = [...this.expected].filter((id) => !this.links.has(id));
      const addresses = options.peers
        .filter((p) => missing.includes(p.taskManagerId))
        .map((p) => `${p.taskManagerId} (${p.host}:${p.dataPort})`);
      this.rejectReady(
        new Error(
          `could not connect the data plane of job ${options.jobId} to TaskManager ${addresses.join(', ')} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    this.timer.unref();
    if (this.expected.size === 0) this.settle();
  }

  /** Adds an established link (from dialing or accepting). */
  add(link: PeerLink): void {
    if (this.closed) {
      link.destroy();
      return;
    }
    this.links.get(link.peerId)?.destroy();
    this.links.set(link.peerId, link);
    if (this.links.size === this.expected.size) this.settle();
  }

  /** Whether `taskManagerId` is one of this job's peers. */
  expects(taskManagerId: string): boolean {
    return this.expected.has(taskManagerId);
  }

  /** Records `nonce` as used; false when it was (a replayed HELLO). */
  fresh(nonce: string): boolean {
    if (this.nonces.has(nonce)) return false;
    // A job's links see one HELLO per peer and reconnect; bounded all the same.
    if (this.nonces.size >= 4096) this.nonces.clear();
    this.nonces.add(nonce);
    return true;
  }

  /** Fails the handshake phase (e.g. a dial failed for good). */
  fail(error: Error): void {
    clearTimeout(this.timer);
    this.rejectReady(error);
  }

  private settle(): void {
    clearTimeout(this.timer);
    this.resolveReady();
  }

  /** Says CLOSE on every link (half-closing it) and forgets the job. */
  close(close: Close = { reason: 'finished' }): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.rejectReady(new Error(`job ${this.options.jobId} closed before its data plane was connected`));
    this.unregister();
    for (const link of this.links.values()) link.close(close);
  }
}

/** The TCP data plane of one TaskManager. */
export class DataPlane {
  private readonly jobs = new Map<string, JobLinks>();
  private readonly parked = new Map<string, Parked[]>();
  private readonly sockets = new Set<Socket>();
  /** Incoming connections that have not completed the handshake. */
  private readonly pending = new Set<Socket>();
  /** This TaskManager's id (known after registration); incoming handshakes must name it. */
  taskManagerId: string | undefined;
  /** Decides about handshakes for deployments not (yet) here; by default every one may wait. */
  admission: DataPlaneAdmission = () => true;
  /** Whether connections run over mutual TLS ({@link DataPlaneOptions.tls}). */
  readonly tls: boolean;

  private constructor(
    private readonly server: Server,
    /** Address the listener is bound to. */
    readonly host: string,
    /** Port the listener is bound to. */
    readonly port: number,
    private readonly acceptTimeoutMs: number,
    private readonly limits: {
      handshakeTimeoutMs: number;
      maxPendingHandshakes: number;
      maxFramePayload: number | undefined;
    },
    private readonly secure: DataPlaneTls | undefined,
    private readonly onRefused: ((refusal: DataPlaneRefusal) => void) | undefined,
  ) {
    this.tls = secure !== undefined;
    server.on('connection', (socket) => {
      this.accept(socket);
    });
  }

  /** Opens the listener. */
  static async listen(options: DataPlaneOptions = {}): Promise<DataPlane> {
    const host = options.host ?? '127.0.0.1';
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    // Built first: a certificate, key or CA that cannot be used fails before the port opens.
    const secure = options.tls === undefined ? undefined : new DataPlaneTls(options.tls, handshakeTimeoutMs);
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    return new DataPlane(
      server,
      host,
      port,
      options.acceptTimeoutMs ?? 30_000,
      {
        handshakeTimeoutMs,
        maxPendingHandshakes: options.maxPendingHandshakes ?? 64,
        maxFramePayload: options.maxFramePayload,
      },
      secure,
      options.onRefused,
    );
  }

  /**
   * Connects one job attempt to its peers: dials the peers with a higher id,
   * waits for the ones with a lower id to dial in. Await `ready` before
   * relying on `links`.
   */
  connectJob(options: ConnectJobOptions): JobLinks {
    const key = jobKey(options.jobId, options.attempt, options.region ?? 0);
    if (this.jobs.has(key))
      throw new Error(
        `job ${options.jobId} attempt ${options.attempt} region ${options.region ?? 0} is already connected`,
      );
    const job = new JobLinks(options, () => {
      if (this.jobs.get(key) === job) this.jobs.delete(key);
    });
    this.jobs.set(key, job);
    for (const parked of this.parked.get(key) ?? []) {
      clearTimeout(parked.timer);
      this.admit(job, parked.hello, parked.socket, parked.leftover);
    }
    this.parked.delete(key);
    for (const peer of options.peers) {
      if (options.self < peer.taskManagerId) {
        this.dial(options, peer, options.timeoutMs ?? 30_000).then(
          (link) => {
            job.add(link);
          },
          (error: unknown) => {
            job.fail(error instanceof Error ? error : new Error(String(error)));
          },
        );
      }
    }
    return job;
  }

  /**
   * Refuses the waiting handshakes the admission check now turns down (call
   * it when a newer attempt replaced some deployments).
   */
  recheckParked(): void {
    for (const [key, list] of [...this.parked]) {
      const keep = list.filter((p) => {
        if (this.admission(p.hello.jobId, p.hello.attempt, p.hello.region)) return true;
        clearTimeout(p.timer);
        this.refuse(
          p.socket,
          `TaskManager ${p.hello.to} does not run job ${p.hello.jobId} attempt ${p.hello.attempt} (a newer attempt replaced it)`,
        );
        return false;
      });
      if (keep.length > 0) this.parked.set(key, keep);
      else this.parked.delete(key);
    }
  }

  /** Incoming connections that have not completed the handshake now. */
  get pendingHandshakes(): number {
    return this.pending.size;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const list of this.parked.values()) for (const p of list) clearTimeout(p.timer);
    this.parked.clear();
    for (const job of [...this.jobs.values()])
      job.close({ reason: 'canceled', message: 'TaskManager shutting down' });
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(socket: Socket): void {
    this.track(socket);
    socket.on('error', () => undefined);
    if (this.pending.size >= this.limits.maxPendingHandshakes) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    const deadline = Date.now() + this.limits.handshakeTimeoutMs;
    readFirstByte(socket, this.limits.handshakeTimeoutMs).then(
      (first) => {
        const secure = this.secure;
        if (secure === undefined) {
          if (opensTls(first))
            this.refuse(
              socket,
              `TaskManager ${this.taskManagerId ?? ''} runs its data plane without TLS, and the peer opened a TLS connection (give every TaskManager the same --data-tls-* settings)`,
            );
          else this.handshake(socket, deadline);
          return;
        }
        if (!opensTls(first)) {
          this.refuse(
            socket,
            `TaskManager ${this.taskManagerId ?? ''} requires TLS on its data plane, and the peer connected in plain TCP (give every TaskManager --data-tls-cert, --data-tls-key and --data-tls-ca)`,
          );
          return;
        }
        secure.accept(
          socket,
          (tlsSocket, untrusted) => {
            this.track(tlsSocket);
            this.pending.delete(socket);
            this.pending.add(tlsSocket);
            tlsSocket.once('close', () => this.pending.delete(tlsSocket));
            if (untrusted === undefined) this.handshake(tlsSocket, deadline);
            else this.refuse(tlsSocket, untrusted);
          },
          (error) => {
            this.onRefused?.({
              peer: remote(socket),
              reason: `its TLS handshake failed (${(error as { code?: string }).code ?? error.message})`,
            });
            socket.destroy();
          },
        );
      },
      () => {
        socket.destroy();
      },
    );
  }

  /** Reads and answers the HELLO of an accepted connection (over TLS when configured). */
  private handshake(socket: Socket, deadline: number): void {
    readFirstFrame(socket, Math.max(1, deadline - Date.now()))
      .then(
        ({ header, frame, leftover }) => {
          if (header.type !== FrameType.HELLO)
            throw new FrameProtocolError(`expected HELLO, got frame type ${header.type}`);
          const hello = parseJsonPayload(HelloSchema, frame, 'HELLO');
          if (this.taskManagerId !== undefined && hello.to !== this.taskManagerId) {
            this.refuse(socket, `this is TaskManager ${this.taskManagerId}, not ${hello.to}`);
            return;
          }
          const key = jobKey(hello.jobId, hello.attempt, hello.region);
          const job = this.jobs.get(key);
          if (job) {
            this.admit(job, hello, socket, leftover);
            return;
          }
          if (!this.admission(hello.jobId, hello.attempt, hello.region)) {
            this.refuse(
              socket,
              `TaskManager ${hello.to} does not run job ${hello.jobId} attempt ${hello.attempt} (a newer attempt replaced it)`,
            );
            return;
          }
          const list = this.parked.get(key) ?? [];
          const timer = setTimeout(() => {
            const rest = (this.parked.get(key) ?? []).filter((p) => p.socket !== socket);
            if (rest.length > 0) this.parked.set(key, rest);
            else this.parked.delete(key);
            this.refuse(
              socket,
              `job ${hello.jobId} attempt ${hello.attempt} is not deployed on TaskManager ${hello.to}`,
            );
          }, this.acceptTimeoutMs);
          timer.unref();
          list.push({ hello, socket, leftover, timer });
          this.parked.set(key, list);
        },
        () => {
          socket.destroy();
        },
      )
      .catch(() => {
        socket.destroy();
      });
  }

  private admit(job: JobLinks, hello: Hello, socket: Socket, leftover: Uint8Array): void {
    if (!job.expects(hello.from)) {
      this.refuse(
        socket,
        `TaskManager ${hello.from} is not part of job ${hello.jobId} attempt ${hello.attempt}`,
      );
      return;
    }
    // Checked before the link exists: a forged or replayed HELLO never replaces a live link of the job.
    if (!verifyHello(job.options.secret, hello, hello.mac) || !job.fresh(hello.nonce)) {
      this.refuse(
        socket,
        `the handshake for job ${hello.jobId} attempt ${hello.attempt} is not authenticated (no valid proof of the attempt's data-plane secret)`,
      );
      return;
    }
    const fields: HandshakeFields = { ...hello };
    const ack: HelloAck = {
      ok: true,
      taskManagerId: job.options.self,
      mac: ackMac(job.options.secret, fields),
    };
    this.pending.delete(socket);
    socket.write(jsonFrame(FrameType.HELLO_ACK, ack));
    const link = new PeerLink(socket, hello.from, leftover, this.limits.maxFramePayload);
    socket.resume();
    job.add(link);
  }

  private refuse(socket: Socket, error: string): void {
    this.onRefused?.({ peer: remote(socket), reason: error });
    const ack: HelloAck = { ok: false, error };
    this.pending.delete(socket);
    socket.end(jsonFrame(FrameType.HELLO_ACK, ack));
    // A refused peer gets a moment to read why, not a connection it can hold open.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private async dial(options: ConnectJobOptions, peer: PeerAddress, timeoutMs: number): Promise<PeerLink> {
    const deadline = Date.now() + timeoutMs;
    let lastError: Error | undefined;
    let delay = 50;
    while (Date.now() < deadline) {
      let socket: Socket | undefined;
      try {
        const pending =
          this.secure === undefined
            ? new Promise<Socket>((resolve, reject) => {
                const s = connect({
                  host: peer.host,
                  port: peer.dataPort,
                  allowHalfOpen: true,
                  noDelay: true,
                });
                s.once('connect', () => {
                  s.off('error', reject);
                  resolve(s);
                });
                s.once('error', reject);
              })
            : this.secure.connect(peer.host, peer.dataPort);
        socket = await pending;
        this.track(socket);
        const fields: HandshakeFields = {
          jobId: options.jobId,
          attempt: options.attempt,
          region: options.region ?? 0,
          from: options.self,
          to: peer.taskManagerId,
          nonce: handshakeNonce(),
        };
        const hello: Hello = { version: 2, ...fields, mac: helloMac(options.secret, fields) };
        socket.write(jsonFrame(FrameType.HELLO, hello));
        const { header, frame, leftover } = await readFirstFrame(socket, Math.max(1, deadline - Date.now()));
        if (header.type !== FrameType.HELLO_ACK)
          throw new FrameProtocolError(`expected HELLO_ACK, got frame type ${header.type}`);
        const ack = parseJsonPayload(HelloAckSchema, frame, 'HELLO_ACK');
        if (!ack.ok)
          throw new Error(`TaskManager ${peer.taskManagerId} refused the data connection: ${ack.error}`);
        if (!verifyAck(options.secret, fields, ack.mac))
          throw new FrameProtocolError(
            `the peer at ${peer.host}:${peer.dataPort} did not prove it holds the data-plane secret of job ${options.jobId} attempt ${options.attempt}`,
          );
        const link = new PeerLink(socket, peer.taskManagerId, leftover, this.limits.maxFramePayload);
        socket.on('error', () => undefined);
        socket.resume();
        return link;
      } catch (error) {
        socket?.destroy();
        lastError = error instanceof Error ? error : new Error(String(error));
        // TLS refusing the peer (or the peer not speaking TLS) is for good, like a refused HELLO.
        if (isTlsFailure(lastError)) {
          lastError = new Error(describeTlsFailure(lastError));
          break;
        }
        if (
          lastError.message.includes('refused the data connection') ||
          lastError instanceof FrameProtocolError
        )
          break;
        await sleep(delay);
        delay = Math.min(1000, delay * 2);
      }
    }
    throw new Error(
      `could not connect to TaskManager ${peer.taskManagerId} at ${peer.host}:${peer.dataPort}: ${lastError?.message ?? 'timed out'}`,
    );
  }
}
