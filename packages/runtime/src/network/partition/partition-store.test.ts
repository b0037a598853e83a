import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../codec/binary.js';
import { END_OF_PARTITION, type ChannelEvent } from '../../codec/events.js';
import { FRAME_HEADROOM } from '../connection.js';
import { PartitionStore, type PartitionReader } from './partition-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(memoryBytes?: number): { store: PartitionStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-partitions-'));
  dirs.push(dir);
  return { store: new PartitionStore({ dir, ...(memoryBytes === undefined ? {} : { memoryBytes }) }), dir };
}

const batch = (from: number, n: number): ChannelEvent => ({
  kind: 'batch',
  values: Array.from({ length: n }, (_, i) => ({ word: `w${from + i}`, n: from + i })),
  timestamps: new Float64Array(n).fill(-Infinity),
});

/** Appends the events as a producer slot sends them (a frame with headroom, the writer sees the event). */
function write(s: PartitionStore, jobId: string, channel: number, events: ChannelEvent[]): boolean[] {
  const w = s.writer(jobId, channel);
  return events.map((e) => w.append(encodeEvent(e, FRAME_HEADROOM).subarray(FRAME_HEADROOM)));
}

function readAll(r: PartitionReader): { events: ChannelEvent[]; batchFlags: boolean[] } {
  const events: ChannelEvent[] = [];
  const batchFlags: boolean[] = [];
  while (!r.done) {
    batchFlags.push(r.nextIsBatch());
    const frame = r.next()!;
    events.push(decodeEvent(frame.subarray(FRAME_HEADROOM)));
  }
  return { events, batchFlags };
}

describe('PartitionStore', () => {
  const events: ChannelEvent[] = [
    batch(0, 3),
    { kind: 'watermark', watermark: Infinity },
    batch(3, 2),
    END_OF_PARTITION,
  ];

  it('reads a partition only after it is complete, in order, as often as asked (a restarted consumer reads again)', () => {
    const { store: s } = store();
    const w = s.writer('job', 7);
    w.append(encodeEvent(events[0]!, FRAME_HEADROOM).subarray(FRAME_HEADROOM));
    expect(s.reader('job', 7)).toBeUndefined();
    expect(s.has('job', 7)).toBe(false);
    const ends = events
      .slice(1)
      .map((e) => w.append(encodeEvent(e, FRAME_HEADROOM).subarray(FRAME_HEADROOM)));
    expect(ends).toEqual([false, false, true]);
    expect(s.has('job', 7)).toBe(true);
    expect(s.spilled('job', 7)).toBe(false);
    for (let round = 0; round < 2; round++) {
      const { events: read, batchFlags } = readAll(s.reader('job', 7)!);
      expect(read).toEqual(events);
      expect(batchFlags).toEqual([true, false, true, false]);
    }
  });

  it('spills past its memory budget to a file under its directory and reads the same events back', () => {
    const { store: s, dir } = store(200);
    const many: ChannelEvent[] = [];
    for (let i = 0; i < 50; i++) many.push(batch(i * 10, 10));
    many.push(END_OF_PARTITION);
    write(s, 'job-a', 1, many);
    write(s, 'job-a', 2, [batch(0, 1), END_OF_PARTITION]);
    expect(s.spilled('job-a', 1)).toBe(true);
    // Memory stays within the budget however large the partitions grow.
    expect(s.memoryUsed).toBeLessThanOrEqual(200);
    expect(readdirSync(join(dir, 'job-a'))).toContain('1.partition');
    const { events: read } = readAll(s.reader('job-a', 1)!);
    expect(read).toEqual(many.map((e) => (e.kind === 'batch' ? { ...e, timestamps: expect.anything() } : e)));
    expect(read.flatMap((e) => (e.kind === 'batch' ? e.values : []))).toHaveLength(500);
  });

  it('replaces a partition when its producer runs again and releases a job’s partitions (memory and files)', () => {
    const { store: s, dir } = store(100);
    write(s, 'job', 1, [batch(0, 20), batch(20, 20), END_OF_PARTITION]);
    write(s, 'other', 1, [batch(0, 1), END_OF_PARTITION]);
    expect(s.spilled('job', 1)).toBe(true);
    // A re-run producer: the partition is incomplete (unreadable) until its new end.
    const w = s.writer('job', 1);
    expect(s.reader('job', 1)).toBeUndefined();
    w.append(encodeEvent(batch(100, 1), FRAME_HEADROOM).subarray(FRAME_HEADROOM));
    w.append(encodeEvent(END_OF_PARTITION, FRAME_HEADROOM).subarray(FRAME_HEADROOM));
    const { events: read } = readAll(s.reader('job', 1)!);
    expect(read.flatMap((e) => (e.kind === 'batch' ? e.values : []))).toEqual([{ word: 'w100', n: 100 }]);
    s.release('job');
    expect(s.reader('job', 1)).toBeUndefined();
    expect(existsSync(join(dir, 'job'))).toBe(false);
    expect(s.has('other', 1)).toBe(true);
    s.release('other');
    expect(s.memoryUsed).toBe(0);
  });
});
