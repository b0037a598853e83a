import { describe, expect, it } from 'vitest';
import type { ChannelEvent } from '../codec/events.js';
import { subtaskForKey } from '../keygroups.js';
import { OutputChannel } from './output-channel.js';
import { KeySelectorError, RecordWriter } from './record-writer.js';

/** A writer over `n` real output channels whose transmitted batches are kept per channel. */
function writer(n: number, key: (v: never) => string | number, batchSize = 4) {
  const sent: unknown[][] = Array.from({ length: n }, () => []);
  const channels = Array.from(
    { length: n },
    (_, c) =>
      new OutputChannel(
        c,
        (e: ChannelEvent) => {
          if (e.kind === 'batch') sent[c]!.push(...e.values);
          return 0;
        },
        1000,
      ),
  );
  const w = new RecordWriter(
    channels,
    { partitioning: 'HASH', key, maxParallelism: 128 },
    batchSize,
    () => {},
    0,
  );
  return { w, sent };
}

describe('RecordWriter, HASH', () => {
  it("sends every record to its key's subtask, in runs of one key and alternating keys alike", () => {
    const keys: (string | number)[] = [
      1,
      1,
      1,
      2,
      2,
      1,
      'a',
      'a',
      'b',
      1.5,
      1.5,
      2 ** 40,
      2 ** 40,
      0,
      -0,
      7,
      8,
      7,
      8,
    ];
    for (let i = 0; i < 500; i++) keys.push(i % 3 === 0 ? i : Math.floor(i / 10));
    const { w, sent } = writer(3, (v: { k: string | number }) => v.k);
    keys.forEach((k, i) => {
      w.emit({ k, i }, i);
    });
    w.flush();
    const placed = new Map<number, number>();
    sent.forEach((values, c) => {
      for (const v of values as { k: string | number; i: number }[]) {
        expect(c).toBe(subtaskForKey(v.k, 128, 3));
        placed.set(v.i, c);
      }
    });
    expect(placed.size).toBe(keys.length);
  });

  it('forwards everything over a single channel without calling the key selector', () => {
    let calls = 0;
    const { w, sent } = writer(1, (v: number) => {
      calls++;
      return v;
    });
    for (let i = 0; i < 10; i++) w.emit(i, i);
    w.flush();
    expect(sent[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(calls).toBe(0);
  });

  it('reports a throwing key selector as the keyBy operator failing', () => {
    const { w } = writer(2, () => {
      throw new Error('no key');
    });
    expect(() => {
      w.emit(1, 0);
    }).toThrow(KeySelectorError);
  });
});
