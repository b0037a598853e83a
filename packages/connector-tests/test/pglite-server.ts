/**
 * Embedded PGlite behind a loopback TCP port that speaks the PostgreSQL wire
 * protocol, so the `pg` driver the Postgres connectors use reaches it like a
 * real server: the fallback of the connector tests where no
 * `FRESHET_TEST_DATABASE_URL` names one.
 *
 * PGlite is one session. The server answers each client's start-up itself
 * (no password) and hands the session to one client at a time, from its
 * first message until PGlite says it is idle again (ReadyForQuery `I`): a
 * transaction is never interleaved with another client's statements, and
 * the pools of several sink and source subtasks plus the test's own client
 * share the database as they would a real server. A client that disconnects
 * inside a transaction has it rolled back.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PGlite } from '@electric-sql/pglite';

/** A PGlite database served on a loopback port. */
export interface PGliteServer {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Closes the connections, the server and the database. */
  dispose(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** One backend message: type byte, then its length (including itself), then the body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstrings = (...parts: string[]): Buffer => Buffer.from(parts.map((p) => `${p}\0`).join(''), 'utf8');

/** What a real server sends after a trusted start-up: authenticated, its settings, a key, ready. */
function startupReply(pid: number): Buffer {
  const int = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const settings: [string, string][] = [
    ['server_version', '17.0'],
    ['server_encoding', 'UTF8'],
    ['client_encoding', 'UTF8'],
    ['DateStyle', 'ISO, MDY'],
    ['integer_datetimes', 'on'],
    ['standard_conforming_strings', 'on'],
  ];
  return Buffer.concat([
    message('R', int(0)),
    ...settings.map(([k, v]) => message('S', cstrings(k, v))),
    message('K', Buffer.concat([int(pid), int(pid * 7919)])),
    message('Z', Buffer.from('I', 'latin1')),
  ]);
}

/** The transaction status of the last ReadyForQuery in a response, if it holds one. */
function lastStatus(response: Uint8Array): string | undefined {
  const b = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  let status: string | undefined;
  for (let at = 0; at + 5 <= b.length;) {
    const len = b.readInt32BE(at + 1);
    if (b[at] === 0x5a /* Z */ && at + 5 < b.length) status = String.fromCharCode(b[at + 5]!);
    at += 1 + len;
  }
  return status;
}

/** Hands the one PGlite session to one client at a time, in arrival order. */
class SessionLock {
  #tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const granted = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return granted;
  }
}

/** Starts an in-memory PGlite served on `127.0.0.1` at a free port. */
export async function startPGliteServer(): Promise<PGliteServer> {
  const db = await PGlite.create();
  const lock = new SessionLock();
  const sockets = new Set<Socket>();
  let pids = 1000;

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    const pid = pids++;
    let pending = Buffer.alloc(0);
    let started = false;
    let release: (() => void) | undefined;
    let inTransaction = false;
    // This client's messages go to PGlite in order, one chunk at a time.
    let chain = Promise.resolve();

    const run = async (chunk: Buffer): Promise<void> => {
      release ??= await lock.acquire();
      const response = await db.execProtocolRaw(new Uint8Array(chunk));
      if (response.length > 0 && !socket.destroyed) socket.write(response);
      const status = lastStatus(response);
      if (status !== undefined) inTransaction = status !== 'I';
      if (status === 'I') {
        release();
        release = undefined;
      }
    };
    const hangUp = async (): Promise<void> => {
      if (release === undefined) return;
      if (inTransaction) await db.exec('ROLLBACK').catch(() => undefined);
      release();
      release = undefined;
    };

    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      const complete: Buffer[] = [];
      for (;;) {
        if (!started) {
          if (pending.length < 8) break;
          const len = pending.readInt32BE(0);
          if (pending.length < len) break;
          const code = pending.readInt32BE(4);
          pending = pending.subarray(len);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) socket.write('N');
          else if (code === CANCEL_REQUEST) socket.destroy();
          else {
            started = true;
            socket.write(startupReply(pid));
          }
          continue;
        }
        if (pending.length < 5) break;
        const len = pending.readInt32BE(1);
        if (pending.length < 1 + len) break;
        const msg = pending.subarray(0, 1 + len);
        pending = pending.subarray(1 + len);
        if (msg[0] === 0x58 /* X: Terminate */) {
          socket.end();
          break;
        }
        complete.push(msg);
      }
      if (complete.length === 0) return;
      const chunk = Buffer.concat(complete);
      chain = chain
        .then(() => run(chunk))
        .catch(() => {
          socket.destroy();
        });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      chain = chain.then(hangUp, hangUp);
    });
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async dispose() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await db.close();
    },
  };
}
