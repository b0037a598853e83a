/**
 * Pins the generator's output: sha256 digests of long stretches of the event
 * stream, computed with the generator as it was before it was optimised (so
 * any optimisation must produce exactly the same events, byte for byte).
 *
 * Each digest is the sha256 of the events as JSON lines — `JSON.stringify`
 * of each event (keys in the model's order, as `freshet nexmark generate`
 * writes them), each followed by `\n` — so it also equals `sha256sum` of the
 * file `freshet nexmark generate --events 1000000 --seed 42 --out FILE`
 * writes, and of the Java peer's `GenDump 1000000 42` output (checked for
 * seeds 42 and 7 with `../shared/peer-flink`'s port of this generator).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NexmarkGenerator, type NexmarkGeneratorOptions } from './generator.js';
import type { NexmarkEvent } from './model.js';

const MILLION = 1_000_000;

/** sha256 (hex) of the JSON lines of every event `opts` produces, drawn with `nextBatch` in batches of `batch` (or `next` when 0). */
function digest(opts: NexmarkGeneratorOptions, batch: number): { sha256: string; count: number } {
  const gen = new NexmarkGenerator(opts);
  const hash = createHash('sha256');
  const buf: NexmarkEvent[] = [];
  const lines: string[] = [];
  let count = 0;
  const flush = (): void => {
    if (lines.length > 0) hash.update(`${lines.join('\n')}\n`);
    lines.length = 0;
  };
  for (;;) {
    const n = batch > 0 ? gen.nextBatch(buf, batch) : gen.hasNext() ? ((buf[0] = gen.next()), 1) : 0;
    if (n === 0) break;
    for (let i = 0; i < n; i++) lines.push(JSON.stringify(buf[i]));
    count += n;
    if (lines.length >= 4096) flush();
  }
  flush();
  return { sha256: hash.digest('hex'), count };
}

describe('NexmarkGenerator output digests (first 1,000,000 events)', () => {
  it('seed 42, parallelism 1', () => {
    expect(digest({ seed: 42, events: MILLION }, 1000)).toEqual({
      sha256: '2c925aac2a3509c2444715e23a1fd9ac4b3ef7f74530e3df8da222531d279242',
      count: MILLION,
    });
  });

  it('seed 7, parallelism 1 (one event at a time)', () => {
    expect(digest({ seed: 7, events: MILLION }, 0)).toEqual({
      sha256: 'fcb3f28890aafe6854adabc79e5b947a17c2f04b117b5878f77258b327226e1d',
      count: MILLION,
    });
  });

  it('seed 42, parallelism 2: each subtask share', () => {
    expect(digest({ seed: 42, events: MILLION, parallelism: 2, subtaskIndex: 0 }, 777)).toEqual({
      sha256: '20dcdd12ba552a803d886dd14d318c2060e1ab5e31ae7cb937989928620eff9a',
      count: MILLION / 2,
    });
    expect(digest({ seed: 42, events: MILLION, parallelism: 2, subtaskIndex: 1 }, 0)).toEqual({
      sha256: 'a78789d6ccd833821ad536cb00769828401a2205527b95f8c63ae617fba68615',
      count: MILLION / 2,
    });
  });

  it('resumes from a restored position (startIndex)', () => {
    // Serial, from a checkpointed position past the middle of the million.
    expect(digest({ seed: 42, events: MILLION, startIndex: 600_001 }, 512)).toEqual({
      sha256: '0f61bb3b233e9a1145a4f3954c46fa87296bee8d4d4174274953e7813ea43cc0',
      count: MILLION - 600_001,
    });
    // Subtask 1 of 2, restored at one of its own indices.
    expect(
      digest({ seed: 7, events: MILLION, parallelism: 2, subtaskIndex: 1, startIndex: 400_001 }, 1000),
    ).toEqual({
      sha256: '08ada1feabb8b50df98aeb17b9e778db6d1566475dcf37bf9698927571b84428',
      count: (MILLION - 400_000) / 2,
    });
  });

  it('positions near 2^32 and 2^53 (the index split in the PRNG seed)', () => {
    const base = 2 ** 32 - 5_000;
    expect(digest({ seed: 42, events: base + 10_000, startIndex: base }, 256)).toEqual({
      sha256: '67b926d7367400940cdd133551cbba9c84f6cf64671c77c26efe03339a6d59f9',
      count: 10_000,
    });
    const high = Number.MAX_SAFE_INTEGER - 10_000;
    expect(digest({ seed: 7, events: high + 10_000, startIndex: high }, 256)).toEqual({
      sha256: '2fffe5449aeeba147e73eab6a6e0609c06c3001f45533b197fe53a39fd6740a5',
      count: 10_000,
    });
  });

  it('negative and large seeds', () => {
    expect(digest({ seed: -5, events: 20_000 }, 256)).toEqual({
      sha256: '64e038040971a0366d37eb5f8f39fa591dd9119326baa04688945521045153a5',
      count: 20_000,
    });
    expect(digest({ seed: 123_456_789_012, events: 20_000 }, 256)).toEqual({
      sha256: 'ab867de62a73a2fb4745d2645d33583e6fe522fffb91f7b3ff05674b5835e32d',
      count: 20_000,
    });
  });
});
