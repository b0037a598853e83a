/**
 * The wire format of the data plane between TaskManagers.
 *
 * Every frame starts with an 8-byte header, little endian:
 *
 * ```
 *  0       4                        8
 *  | word0 | word1                  | payload (length bytes)
 *  word0 = channel id (DATA) or 0
 *  word1 = type << 28 | length      (length < 2^28)
 * ```
 *
 * The header is exactly the {@link FRAME_HEADROOM} the codec leaves in front
 * of every encoded event, with the channel id where the in-process
 * MessagePort transport already puts it: a batch encoded in a slot worker is
 * written to the socket as is (no copy), and a frame read from the socket is
 * handed to a slot worker as is (one copy, into its own transferable buffer).
 *
 * Frame types: `HELLO` / `HELLO_ACK` (JSON handshake), `DATA` (one encoded
 * channel event: a serialized batch or a control event), `CREDIT` (pairs of
 * u32 channel, u32 credits: all credits granted in one event-loop turn),
 * `CLOSE` (JSON: why this side is done with the job).
 */
import { z } from 'zod';
import { FRAME_HEADROOM } from '../connection.js';
import { defineErrorClass, FreshetError } from '@freshet/errors';

/** Bytes of a frame header (equal to the codec's headroom). */
export const FRAME_HEADER_BYTES = FRAME_HEADROOM;

/** Frame types. */
export const FrameType = {
  HELLO: 1,
  HELLO_ACK: 2,
  DATA: 3,
  CREDIT: 4,
  CLOSE: 5,
} as const;
/** @see {@link FrameType} */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Largest payload a frame may carry (a frame claiming more is a protocol error). @default 64 MiB */
export const MAX_FRAME_PAYLOAD = 64 * 1024 * 1024;

/** Largest payload of a handshake frame (HELLO, HELLO_ACK): read before the peer is authenticated. */
export const HANDSHAKE_FRAME_LIMIT = 16 * 1024;

const LENGTH_MASK = 0x0fff_ffff;

/** A decoded frame header. */
export const FrameHeaderSchema = z.object({
  type: z.union([
    z.literal(FrameType.HELLO),
    z.literal(FrameType.HELLO_ACK),
    z.literal(FrameType.DATA),
    z.literal(FrameType.CREDIT),
    z.literal(FrameType.CLOSE),
  ]),
  channel: z.int().nonnegative(),
  length: z.int().nonnegative().max(MAX_FRAME_PAYLOAD),
});
/** @see {@link FrameHeaderSchema} */
export type FrameHeader = z.infer<typeof FrameHeaderSchema>;

/** An id in a handshake: text without NUL (the handshake MAC separates its fields by NUL). */
const HandshakeIdSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes('\0'), 'must not contain NUL');

/**
 * First frame of a connection, from the dialing TaskManager. `mac` proves
 * the dialer holds the job attempt's data-plane secret (`handshake-auth.ts`).
 */
export const HelloSchema = z.object({
  version: z.literal(2),
  jobId: HandshakeIdSchema,
  attempt: z.int().nonnegative(),
  /** The pipelined region of the job (its regions connect separately: each fails and restarts on its own). */
  region: z.int().nonnegative(),
  /** TaskManager id of the dialer. */
  from: HandshakeIdSchema,
  /** TaskManager id the dialer expects to reach. */
  to: HandshakeIdSchema,
  /** Fresh per connection: a replayed HELLO is refused. */
  nonce: z.string().min(16).max(64),
  /** HMAC-SHA256 (base64url) over the fields above with the attempt's secret. */
  mac: z.string().min(1).max(128),
});
/** @see {@link HelloSchema} */
export type Hello = z.infer<typeof HelloSchema>;

/** Answer to a {@link Hello}. */
export const HelloAckSchema = z.discriminatedUnion('ok', [
  /** `mac` proves the acceptor holds the attempt's secret too. */
  z.object({ ok: z.literal(true), taskManagerId: z.string().min(1), mac: z.string().min(1).max(128) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
/** @see {@link HelloAckSchema} */
export type HelloAck = z.infer<typeof HelloAckSchema>;

/** Why one side is done with a job's connection. */
export const CloseSchema = z.object({
  reason: z.enum(['finished', 'canceled', 'failed']),
  message: z.string().optional(),
});
/** @see {@link CloseSchema} */
export type Close = z.infer<typeof CloseSchema>;

/** A frame violated the protocol; the connection is unusable. */
export class FrameProtocolError extends FreshetError {
  static {
    defineErrorClass(this, 'FrameProtocolError', 'PROTOCOL_VIOLATION');
  }
}

/** Writes a header into the first {@link FRAME_HEADER_BYTES} of `frame` (whose payload follows). */
export function writeFrameHeader(frame: Uint8Array, type: FrameType, channel: number): void {
  const length = frame.byteLength - FRAME_HEADER_BYTES;
  if (length > MAX_FRAME_PAYLOAD) {
    throw new FrameProtocolError(`frame of ${length} bytes exceeds the ${MAX_FRAME_PAYLOAD}-byte limit`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  view.setUint32(0, channel, true);
  view.setUint32(4, ((type << 28) | length) >>> 0, true);
}

/**
 * Reads and validates the header at the start of `bytes` (8 bytes).
 *
 * @param maxPayload - a longer frame is a protocol error @default MAX_FRAME_PAYLOAD
 */
export function readFrameHeader(bytes: Uint8Array, maxPayload: number = MAX_FRAME_PAYLOAD): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const word1 = view.getUint32(4, true);
  const parsed = FrameHeaderSchema.safeParse({
    type: word1 >>> 28,
    channel: view.getUint32(0, true),
    length: word1 & LENGTH_MASK,
  });
  if (!parsed.success) {
    throw new FrameProtocolError(
      `bad frame header: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  if (parsed.data.length > maxPayload) {
    throw new FrameProtocolError(`frame of ${parsed.data.length} bytes exceeds the ${maxPayload}-byte limit`);
  }
  return parsed.data;
}

/** A frame whose payload is `value` as JSON. */
export function jsonFrame(type: FrameType, value: unknown): Uint8Array {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const frame = new Uint8Array(FRAME_HEADER_BYTES + json.byteLength);
  frame.set(json, FRAME_HEADER_BYTES);
  writeFrameHeader(frame, type, 0);
  return frame;
}

/** A CREDIT frame granting `pairs` = [channel, credits, channel, credits, …]. */
export function creditFrame(pairs: readonly number[]): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + pairs.length * 4);
  const view = new DataView(frame.buffer);
  for (let i = 0; i < pairs.length; i++) view.setUint32(FRAME_HEADER_BYTES + i * 4, pairs[i]!, true);
  writeFrameHeader(frame, FrameType.CREDIT, 0);
  return frame;
}

/** Parses a JSON payload with `schema`. */
export function parseJsonPayload<T>(schema: z.ZodType<T>, frame: Uint8Array, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(
      Buffer.from(
        frame.buffer,
        frame.byteOffset + FRAME_HEADER_BYTES,
        frame.byteLength - FRAME_HEADER_BYTES,
      ).toString('utf8'),
    );
  } catch {
    throw new FrameProtocolError(`${what} frame is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FrameProtocolError(`bad ${what} frame: ${parsed.error.message}`);
  return parsed.data;
}

/** Receives the frames a {@link FrameDecoder} cut out of a byte stream. */
export type FrameSink = (header: FrameHeader, frame: Uint8Array) => void;

/**
 * Cuts a TCP byte stream into frames. Each frame is delivered as its own
 * `Uint8Array` over a fresh `ArrayBuffer` (header included), so it can be
 * transferred to a worker thread; a frame spanning several chunks is filled
 * in place, never re-concatenated.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private current: Uint8Array | undefined;
  private currentHeader: FrameHeader | undefined;
  private fill = 0;

  constructor(
    private readonly sink: FrameSink,
    /** A frame claiming a longer payload is a protocol error (nothing is allocated for it). @default MAX_FRAME_PAYLOAD */
    private readonly maxPayload: number = MAX_FRAME_PAYLOAD,
  ) {}

  /** Feeds one chunk; throws {@link FrameProtocolError} on a bad header. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.byteLength;
    while (pos < end) {
      if (this.current === undefined) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headerFill, end - pos);
        this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
        this.headerFill += n;
        pos += n;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        this.headerFill = 0;
        const header = readFrameHeader(this.header, this.maxPayload);
        const frame = new Uint8Array(FRAME_HEADER_BYTES + header.length);
        frame.set(this.header, 0);
        this.current = frame;
        this.currentHeader = header;
        this.fill = FRAME_HEADER_BYTES;
      }
      const frame = this.current;
      const n = Math.min(frame.byteLength - this.fill, end - pos);
      if (n > 0) {
        frame.set(chunk.subarray(pos, pos + n), this.fill);
        this.fill += n;
        pos += n;
      }
      if (this.fill === frame.byteLength) {
        const header = this.currentHeader!;
        this.current = undefined;
        this.currentHeader = undefined;
        this.sink(header, frame);
      }
    }
  }
}
