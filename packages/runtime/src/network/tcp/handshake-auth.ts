/**
 * Authentication of the data-plane handshake. The JobManager gives every
 * TaskManager it deploys a job attempt to the attempt's secret (in the
 * deploy command, over the TaskManager's authenticated control plane); no
 * one else has it. The dialer's HELLO carries a fresh nonce and an HMAC
 * over the job, attempt, region, both TaskManager ids and the nonce; the
 * acceptor's HELLO_ACK answers with an HMAC over the same fields in the
 * other direction. So a peer that was not deployed to the attempt cannot
 * join it (nor pose as an acceptor), a HELLO cannot be re-aimed at another
 * job, region or TaskManager, and a replayed HELLO is refused by its nonce.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a handshake MAC covers besides the secret. */
export interface HandshakeFields {
  jobId: string;
  attempt: number;
  region: number;
  /** The dialing TaskManager. */
  from: string;
  /** The accepting TaskManager. */
  to: string;
  nonce: string;
}

/** A fresh nonce for a HELLO: 128 random bits, base64url. */
export function handshakeNonce(): string {
  return randomBytes(16).toString('base64url');
}

function mac(direction: 'hello' | 'ack', secret: string, f: HandshakeFields): string {
  // NUL separates the fields: none of them can contain it (ids are checked text), so no two field lists collide.
  return createHmac('sha256', secret)
    .update(
      `freshet-data-plane-${direction}\0${f.jobId}\0${f.attempt}\0${f.region}\0${f.from}\0${f.to}\0${f.nonce}`,
    )
    .digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

/** The dialer's proof, sent in its HELLO. */
export function helloMac(secret: string, fields: HandshakeFields): string {
  return mac('hello', secret, fields);
}

/** The acceptor's proof, sent in its HELLO_ACK. */
export function ackMac(secret: string, fields: HandshakeFields): string {
  return mac('ack', secret, fields);
}

/** Whether a HELLO's `given` MAC proves the dialer holds `secret`. */
export function verifyHello(secret: string, fields: HandshakeFields, given: string): boolean {
  return same(helloMac(secret, fields), given);
}

/** Whether a HELLO_ACK's `given` MAC proves the acceptor holds `secret`. */
export function verifyAck(secret: string, fields: HandshakeFields, given: string): boolean {
  return same(ackMac(secret, fields), given);
}
