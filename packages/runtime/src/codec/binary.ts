/**
 * Compact binary encoding of channel events. Layout (little-endian):
 *
 * ```
 * [headroom bytes, free for the transport (channel id, length prefix)]
 * byte 0      event type (1 batch, 2 watermark, 3 status, 4 barrier, 5 end)
 * batch:      byte 1 timestamp mode (0: all NO_TIMESTAMP, 1: one per record),
 *             bytes 4..7 record count (u32),
 *             mode 1: count × f64 timestamps at offset 8 (8-byte aligned),
 *             then the values array as msgpack with record structures
 *             (msgpackr `useRecords` + `bundleStrings`: an object shape is
 *             written once per batch, then each record is just its values).
 * watermark:  f64 at offset 8
 * status:     byte 1 = 1 when idle
 * barrier:    f64 checkpoint id at 8, f64 timestamp at 16
 * end:        nothing
 * ```
 *
 * The headroom is a multiple of 8 so timestamps stay 8-byte aligned and the
 * decoder can view them in place (no copy) when the frame starts a buffer.
 */
import { Packr, Unpackr } from 'msgpackr';
import { NO_TIMESTAMP } from '../operator.js';
import { END_OF_PARTITION, type ChannelEvent } from './events.js';
import { defineErrorClass, FreshetError } from '@freshet/errors';

const TYPE_BATCH = 1;
const TYPE_WATERMARK = 2;
const TYPE_STATUS = 3;
const TYPE_BARRIER = 4;
const TYPE_END = 5;

const msgpackOptions = { useRecords: true, bundleStrings: true, moreTypes: true } as const;
const packr = new Packr({ ...msgpackOptions });
const unpackr = new Unpackr({ ...msgpackOptions });

/** Thrown when bytes are not a valid encoded channel event. */
export class CodecError extends FreshetError {
  static {
    defineErrorClass(this, 'CodecError', 'PROTOCOL_VIOLATION');
  }
}

/**
 * Encodes a channel event into a fresh buffer (safe to transfer between
 * threads) that starts with `headroom` free bytes.
 *
 * @param headroom bytes reserved at the start for the transport; must be a multiple of 8. @default 0
 */
export function encodeEvent(event: ChannelEvent, headroom = 0): Uint8Array {
  if (headroom % 8 !== 0) throw new RangeError(`headroom must be a multiple of 8 (got ${headroom})`);
  switch (event.kind) {
    case 'batch': {
      const { values, timestamps } = event;
      const count = values.length;
      let hasTimestamps = false;
      for (let i = 0; i < count; i++) {
        if (timestamps[i] !== NO_TIMESTAMP) {
          hasTimestamps = true;
          break;
        }
      }
      const payload = packr.pack(values);
      const tsBytes = hasTimestamps ? count * 8 : 0;
      const out = new Uint8Array(headroom + 8 + tsBytes + payload.length);
      const view = new DataView(out.buffer);
      out[headroom] = TYPE_BATCH;
      out[headroom + 1] = hasTimestamps ? 1 : 0;
      view.setUint32(headroom + 4, count, true);
      if (hasTimestamps) {
        const ts = new Float64Array(out.buffer, headroom + 8, count);
        if (timestamps instanceof Float64Array) ts.set(timestamps.subarray(0, count));
        else for (let i = 0; i < count; i++) ts[i] = timestamps[i] ?? NO_TIMESTAMP;
      }
      out.set(payload, headroom + 8 + tsBytes);
      return out;
    }
    case 'watermark': {
      const out = new Uint8Array(headroom + 16);
      out[headroom] = TYPE_WATERMARK;
      new DataView(out.buffer).setFloat64(headroom + 8, event.watermark, true);
      return out;
    }
    case 'status': {
      const out = new Uint8Array(headroom + 8);
      out[headroom] = TYPE_STATUS;
      out[headroom + 1] = event.idle ? 1 : 0;
      return out;
    }
    case 'barrier': {
      const out = new Uint8Array(headroom + 24);
      const view = new DataView(out.buffer);
      out[headroom] = TYPE_BARRIER;
      view.setFloat64(headroom + 8, event.checkpointId, true);
      view.setFloat64(headroom + 16, event.timestamp, true);
      return out;
    }
    case 'end': {
      const out = new Uint8Array(headroom + 8);
      out[headroom] = TYPE_END;
      return out;
    }
  }
}

/** Decodes an event written by {@link encodeEvent} (`bytes` starts at the event, after any headroom). */
export function decodeEvent(bytes: Uint8Array): ChannelEvent {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes[0]) {
    case TYPE_BATCH: {
      const count = view.getUint32(4, true);
      const hasTimestamps = bytes[1] === 1;
      let timestamps: Float64Array;
      let payloadStart = 8;
      if (hasTimestamps) {
        const offset = bytes.byteOffset + 8;
        timestamps =
          offset % 8 === 0
            ? new Float64Array(bytes.buffer, offset, count)
            : new Float64Array(bytes.slice(8, 8 + count * 8).buffer);
        payloadStart += count * 8;
      } else {
        timestamps = new Float64Array(count).fill(NO_TIMESTAMP);
      }
      const values: unknown = unpackr.unpack(bytes.subarray(payloadStart));
      if (!Array.isArray(values) || values.length !== count) {
        throw new CodecError(`corrupt batch: expected ${count} records`);
      }
      return { kind: 'batch', values, timestamps };
    }
    case TYPE_WATERMARK:
      return { kind: 'watermark', watermark: view.getFloat64(8, true) };
    case TYPE_STATUS:
      return { kind: 'status', idle: bytes[1] === 1 };
    case TYPE_BARRIER:
      return {
        kind: 'barrier',
        checkpointId: view.getFloat64(8, true),
        timestamp: view.getFloat64(16, true),
      };
    case TYPE_END:
      return END_OF_PARTITION;
    default:
      throw new CodecError(`unknown channel event type ${String(bytes[0])}`);
  }
}

/** Encodes any plain value (collected records, snapshots) with the same msgpack settings. */
export function encodeValue(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  // Copy out of msgpackr's shared scratch buffer so the result can be transferred.
  return new Uint8Array(packed);
}

/** Decodes a value written by {@link encodeValue}. */
export function decodeValue(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}
