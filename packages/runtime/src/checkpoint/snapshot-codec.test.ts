import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../codec/binary.js';
import {
  decodeSubtaskSnapshot,
  encodeSubtaskSnapshot,
  restoredSnapshotsOf,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotCodecError,
} from './snapshot-codec.js';

describe('the subtask snapshot codec', () => {
  const snapshots = new Map([
    [
      1,
      {
        keyed: {
          3: { 's:count': [['a', 2] as [string, unknown]] },
          70: { windows: [[7, [[0, 10, 1, { n: 1 }, null]]]] },
        },
        operator: { subtask: 0, parallelism: 2, position: 42 },
      },
    ],
    [
      2,
      {
        operator: {
          m: new Map<unknown, unknown>([[1, 'x']]),
          s: new Set([2]),
          u: undefined,
          inf: -Infinity,
          big: 7n,
        },
      },
    ],
    [3, {}],
  ]);

  it('round-trips every operator snapshot, Maps, Sets, undefined and infinities included', () => {
    const bytes = encodeSubtaskSnapshot(snapshots);
    const back = decodeSubtaskSnapshot(bytes);
    expect([...back.keys()]).toEqual([1, 2, 3]);
    expect(back.get(1)).toEqual({
      keyed: { '3': { 's:count': [['a', 2]] }, '70': { windows: [[7, [[0, 10, 1, { n: 1 }, null]]]] } },
      operator: { subtask: 0, parallelism: 2, position: 42 },
    });
    const op = back.get(2)!.operator as {
      m: Map<unknown, unknown>;
      s: Set<number>;
      u: undefined;
      inf: number;
      big: bigint;
    };
    expect(op.m).toEqual(new Map([[1, 'x']]));
    expect(op.s).toEqual(new Set([2]));
    expect('u' in op && op.u === undefined).toBe(true);
    expect(op.inf).toBe(-Infinity);
    expect(op.big).toBe(7n);
    expect(back.get(3)).toEqual({});
  });

  it('gives a buffer of its own (transferable without a copy) that starts with a versioned header', () => {
    const bytes = encodeSubtaskSnapshot(snapshots);
    expect(bytes.byteOffset).toBe(0);
    // Nothing else lives in its ArrayBuffer: a channel batch encoded next does not land there.
    const before = bytes.slice();
    encodeEvent({ kind: 'batch', values: ['x'.repeat(1000)], timestamps: [1] });
    expect(bytes).toEqual(before);
    // A snapshot larger than the buffer it was given is moved into one of its own as well.
    const big = encodeSubtaskSnapshot(new Map([[1, { operator: 'y'.repeat(500_000) }]]));
    expect(big.byteOffset).toBe(0);
    expect(decodeSubtaskSnapshot(big).get(1)!.operator).toHaveLength(500_000);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('FSNP');
    expect(bytes[4]).toBe(SNAPSHOT_FORMAT_VERSION);
    // A later encode does not touch an earlier buffer.
    const copy = bytes.slice();
    encodeSubtaskSnapshot(new Map([[9, { operator: 'x'.repeat(10_000) }]]));
    expect(bytes).toEqual(copy);
  });

  it('refuses bytes that are not a snapshot, a newer version and state that cannot be written', () => {
    expect(() => decodeSubtaskSnapshot(new Uint8Array([1, 2, 3]))).toThrow(SnapshotCodecError);
    const bytes = encodeSubtaskSnapshot(snapshots);
    bytes[4] = 9;
    expect(() => decodeSubtaskSnapshot(bytes)).toThrow('subtask snapshot format version 9 is not supported');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeSubtaskSnapshot(new Map([[1, { operator: cyclic }]]))).toThrow(
      /the state cannot be written to a checkpoint/,
    );
  });

  it('groups the snapshots of several buffers per StreamNode for a restore', () => {
    const a = encodeSubtaskSnapshot(
      new Map([
        [1, { operator: 'a1' }],
        [2, { operator: 'a2' }],
      ]),
    );
    const b = encodeSubtaskSnapshot(new Map([[1, { operator: 'b1' }]]));
    expect(restoredSnapshotsOf([a, b])).toEqual(
      new Map([
        [1, [{ operator: 'a1' }, { operator: 'b1' }]],
        [2, [{ operator: 'a2' }]],
      ]),
    );
  });
});
