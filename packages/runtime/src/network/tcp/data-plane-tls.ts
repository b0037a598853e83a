/**
 * Optional mutual TLS for the data plane, for clusters that span hosts. TLS
 * encrypts the connection and proves both ends hold a certificate of the
 * cluster's data-plane CA; the HMAC handshake on top (`handshake-auth.ts`)
 * still binds the connection to one job attempt. The listener stays a plain
 * TCP server: it reads the first byte of each connection to tell a TLS
 * ClientHello (a handshake record, 0x16) from a plain HELLO (whose header
 * starts with channel 0), so a TaskManager with TLS can refuse a plain peer
 * in words it understands, and a plain one can say why it refuses TLS. Once
 * established, a TLS link is the same {@link PeerLink} over a `TLSSocket`:
 * nothing per record changes.
 */
import type { Socket } from 'node:net';
import {
  connect as tlsConnect,
  createSecureContext,
  Server as TlsServer,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';

/** Certificate, key and CA of the data plane's mutual TLS (PEM). */
export interface DataPlaneTlsOptions {
  /** This TaskManager's certificate (chain); it must name the host the TaskManager is reached at. */
  cert: string | Buffer;
  /** The private key of `cert`. */
  key: string | Buffer;
  /** The CA certificate(s) peers' certificates must be signed by (only these are trusted). */
  ca: string | Buffer;
}

/** First byte of a TLS handshake record: a ClientHello starts with it, a plain HELLO frame never does. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** Whether a connection's first byte opens a TLS handshake. */
export function opensTls(firstByte: number): boolean {
  return firstByte === TLS_HANDSHAKE_RECORD;
}

/**
 * Whether `error` is TLS refusing the other end (an untrusted or missing
 * certificate, a wrong host name, a peer that does not speak TLS): trying
 * again cannot help, unlike a peer that is not listening yet.
 */
export function isTlsFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_SSL_') ||
      code.startsWith('ERR_TLS_') ||
      /CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED/.test(code))
  );
}

/** Says in words why the dialer's TLS failed, with TLS's own code. */
export function describeTlsFailure(error: Error): string {
  const code = (error as { code?: string }).code ?? '';
  const hint =
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'
      ? 'the peer answered in plain TCP: its data plane runs without TLS'
      : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? "the peer's certificate does not name the host it was reached at"
        : /CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED/.test(code)
          ? "the peer's certificate is not signed by this TaskManager's data-plane CA"
          : 'the TLS handshake failed';
  return `data-plane TLS refused: ${hint} (${code}: ${error.message.split('\n')[0] ?? ''})`;
}

/** The TLS side of one {@link DataPlane}: the acceptor's server and the dialer's context. */
export class DataPlaneTls {
  private readonly server: TlsServer;
  private readonly context: SecureContext;
  /** Accepted connections in their TLS handshake, by the TCP socket under them. */
  private readonly waiting = new Map<
    Socket,
    { secured: (socket: TLSSocket, untrusted: string | undefined) => void; failed: (error: Error) => void }
  >();

  /**
   * @throws Error when the certificate, key or CA cannot be used (a key that
   *   is not the certificate's, text that is not PEM)
   */
  constructor(options: DataPlaneTlsOptions, handshakeTimeoutMs: number) {
    const pem = { cert: options.cert, key: options.key, ca: options.ca };
    this.context = createSecureContext(pem);
    // The acceptor checks the peer's certificate itself (not rejectUnauthorized): a refused
    // peer is then told why over the encrypted connection, and the refusal is logged with the reason.
    this.server = new TlsServer({
      ...pem,
      requestCert: true,
      rejectUnauthorized: false,
      allowHalfOpen: true,
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      const raw = parentOf(socket);
      const waiting = raw && this.waiting.get(raw);
      if (raw) this.waiting.delete(raw);
      socket.on('error', () => undefined);
      // Not matched to an accepted connection: nothing would bound it, so it is closed.
      if (!waiting) socket.destroy();
      else waiting.secured(socket, untrustedReason(socket));
    });
    this.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      const raw = parentOf(socket);
      const waiting = raw && this.waiting.get(raw);
      if (raw) this.waiting.delete(raw);
      waiting?.failed(error);
    });
  }

  /**
   * Runs the TLS handshake on an accepted connection (its first bytes
   * unread or put back). `secured` gets the TLS socket and, when the
   * peer's certificate is not trusted, why; `failed` gets TLS's error when
   * the handshake itself fails (neither is called when the connection
   * closes first).
   */
  accept(
    raw: Socket,
    secured: (socket: TLSSocket, untrusted: string | undefined) => void,
    failed: (error: Error) => void,
  ): void {
    this.waiting.set(raw, { secured, failed });
    raw.once('close', () => this.waiting.delete(raw));
    this.server.emit('connection', raw);
  }

  /** Dials `host:port` over TLS; resolves once the handshake verified the peer's certificate and host name. */
  connect(host: string, port: number): Promise<TLSSocket> {
    return new Promise<TLSSocket>((resolve, reject) => {
      // The same socket options as a plain dial; tls.connect honours them though its typings omit them.
      const options: ConnectionOptions & { allowHalfOpen: boolean; noDelay: boolean } = {
        host,
        port,
        secureContext: this.context,
        allowHalfOpen: true,
        noDelay: true,
      };
      const socket = tlsConnect(options);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }
}

/** Why the peer's certificate is not trusted, or undefined when it is. */
function untrustedReason(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (Object.keys(cert).length === 0) return 'the peer presented no TLS certificate';
  const error = socket.authorizationError;
  const code = typeof error === 'string' ? error : error.message;
  const cn = cert.subject.CN;
  const name = (Array.isArray(cn) ? cn.join(', ') : cn) || 'no common name';
  return `the peer's TLS certificate (${name}) is not signed by this TaskManager's data-plane CA (${code})`;
}

/** The accepted TCP connection a server-side TLS socket runs over. */
function parentOf(socket: TLSSocket): Socket | undefined {
  // A TLSSocket over an injected connection keeps it as `_parent` (Node does not name it publicly);
  // one server serves every connection, so its events are matched to theirs by it.
  return (socket as unknown as { _parent?: Socket })._parent;
}
