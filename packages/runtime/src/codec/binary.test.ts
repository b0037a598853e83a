import { describe, expect, it } from 'vitest';
import { NO_TIMESTAMP } from '../operator.js';
import { decodeEvent, encodeEvent, encodeValue, decodeValue } from './binary.js';
import type { BatchEvent, ChannelEvent } from './events.js';

function bids(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    event_type: 2,
    bid: {
      auction: 1000 + (i % 50),
      bidder: 2000 + i,
      price: 100 + i * 7,
      channel: `channel-${i % 10}`,
      url: `https://www.nexmark.com/item.htm?query=1&channel_id=${i}`,
      dateTime: 1_700_000_000_000 + i,
      extra: '',
    },
  }));
}

describe('binary codec', () => {
  it('round-trips batches with and without timestamps', () => {
    const values = bids(100);
    const ts = new Float64Array(100).map((_, i) => 1_700_000_000_000 + i);
    for (const headroom of [0, 8]) {
      const bytes = encodeEvent({ kind: 'batch', values, timestamps: ts }, headroom);
      const back = decodeEvent(bytes.subarray(headroom)) as BatchEvent;
      expect(back.kind).toBe('batch');
      expect(back.values).toEqual(values);
      expect(Array.from(back.timestamps)).toEqual(Array.from(ts));
    }
    const plain = encodeEvent({
      kind: 'batch',
      values: [1, 'two', null, [3]],
      timestamps: [NO_TIMESTAMP, NO_TIMESTAMP, NO_TIMESTAMP, NO_TIMESTAMP],
    });
    const back = decodeEvent(plain) as BatchEvent;
    expect(back.values).toEqual([1, 'two', null, [3]]);
    expect(Array.from(back.timestamps)).toEqual([NO_TIMESTAMP, NO_TIMESTAMP, NO_TIMESTAMP, NO_TIMESTAMP]);
  });

  it('round-trips control events', () => {
    const events: ChannelEvent[] = [
      { kind: 'watermark', watermark: 12345 },
      { kind: 'watermark', watermark: Number.POSITIVE_INFINITY },
      { kind: 'status', idle: true },
      { kind: 'status', idle: false },
      { kind: 'barrier', checkpointId: 7, timestamp: 1_700_000_000_123 },
      { kind: 'end' },
    ];
    for (const e of events) expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  it('keeps Maps, Dates and nested values', () => {
    const v = { m: new Map([['a', 1]]), d: new Date(5), n: [1.5, -2, 'x'] };
    expect(decodeValue(encodeValue(v))).toEqual(v);
  });

  it('measures encode+decode throughput of Nexmark-like bids', () => {
    const values = bids(1024);
    const ts = new Float64Array(1024).fill(1_700_000_000_000);
    const rounds = 200;
    let bytes = 0;
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      const enc = encodeEvent({ kind: 'batch', values, timestamps: ts }, 8);
      bytes += enc.byteLength;
      decodeEvent(enc.subarray(8));
    }
    const ms = performance.now() - t0;
    const perSec = (rounds * 1024 * 1000) / ms;
    console.log(
      `codec: ${Math.round(perSec).toLocaleString('en')} bids/s encode+decode, ${(bytes / rounds / 1024).toFixed(1)} bytes/bid`,
    );
    expect(perSec).toBeGreaterThan(100_000);
  });
});
