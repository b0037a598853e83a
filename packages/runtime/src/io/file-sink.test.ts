import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OperatorSnapshot } from '../operator.js';
import { OperatorHarness, testNode } from '../testing/harness.js';
import { ExactlyOnceFileSink, FileSinkRestoreError, type FileSinkFormat } from './file-sink.js';

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'freshet-sink-')), 'out');
});
afterEach(() => {
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

function sink(
  opts: { attempt?: number; subtask?: number; parallelism?: number; format?: FileSinkFormat } = {},
): OperatorHarness {
  const format = opts.format ?? 'jsonLines';
  const node = testNode({ kind: 'sink', name: 'files', spec: { sink: { type: format, path: dir } } });
  return new OperatorHarness(
    [node],
    { attempt: opts.attempt ?? 0, subtaskIndex: opts.subtask ?? 0, parallelism: opts.parallelism ?? 1 },
    [new ExactlyOnceFileSink(node, format, dir)],
  );
}

const files = (): string[] => readdirSync(dir).sort();
/** The records readers see: every committed part file, in name order. */
const committed = (): unknown[] =>
  files()
    .filter((f) => f.startsWith('part-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as unknown);

describe('ExactlyOnceFileSink', () => {
  it('writes in-progress files, makes them pending at a checkpoint and commits them when it completes', () => {
    const h = sink({ attempt: 3 }).open();
    h.processElement({ n: 1 }).processElement({ n: 2 });
    h.processWatermark(10); // flushes into the in-progress file
    expect(files()).toEqual(['.part-0-0.jsonl.inprogress-3']);
    expect(committed()).toEqual([]);
    h.snapshot(1);
    h.processElement({ n: 3 });
    h.snapshot(2);
    expect(files()).toEqual(['.part-0-0.jsonl.inprogress-3', '.part-0-1.jsonl.inprogress-3']);
    h.head.notifyCheckpointComplete!(1);
    expect(files()).toEqual(['.part-0-1.jsonl.inprogress-3', 'part-0-0.jsonl']);
    expect(committed()).toEqual([{ n: 1 }, { n: 2 }]);
    // Checkpoint 2 was aborted; 3 completes and commits what was pending for 2 as well.
    h.processElement({ n: 4 });
    h.snapshot(3);
    h.head.notifyCheckpointComplete!(3);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl', 'part-0-2.jsonl']);
    expect(committed()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    // A checkpoint with nothing new adds no file.
    h.snapshot(4);
    h.head.notifyCheckpointComplete!(4);
    expect(files()).toHaveLength(3);
    h.close();
  });

  it('after a failure, commits the restored pending files, deletes what later attempts wrote and continues the counter', () => {
    const before = sink({ attempt: 0 }).open();
    before.processElement('a').processElement('b');
    before.snapshot(1);
    before.head.notifyCheckpointComplete!(1);
    before.processElement('c');
    const restoredState = before.snapshot(2); // completes, but the failure comes before its notification
    before.processElement('d').processElement('e');
    before.processWatermark(1);
    // attempt 0 dies here: c is pending for 2, d and e sit in an in-progress file.
    expect(files()).toEqual([
      '.part-0-1.jsonl.inprogress-0',
      '.part-0-2.jsonl.inprogress-0',
      'part-0-0.jsonl',
    ]);

    const after = sink({ attempt: 1 }).open([restoredState]);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl']);
    expect(committed()).toEqual(['a', 'b', 'c']);
    // The source replays from checkpoint 2: d and e again, then the job ends.
    after.processElement('d').processElement('e');
    after.snapshot(3);
    after.head.notifyCheckpointComplete!(3);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl', 'part-0-2.jsonl']);
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);

    // Restoring the same state again (another failure) is idempotent: nothing is committed twice.
    const again = sink({ attempt: 2 }).open([restoredState]);
    again.close();
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it("leaves the other subtasks' files alone on restore", () => {
    const s0 = sink({ subtask: 0, parallelism: 2 }).open();
    const s1 = sink({ subtask: 1, parallelism: 2 }).open();
    s0.processElement(1);
    s1.processElement(2);
    const state0 = s0.snapshot(1);
    s1.snapshot(1);
    s1.processElement(3);
    s1.processWatermark(5);
    sink({ subtask: 0, parallelism: 2, attempt: 1 }).open([state0]);
    expect(files()).toEqual([
      '.part-1-0.jsonl.inprogress-0',
      '.part-1-1.jsonl.inprogress-0',
      'part-0-0.jsonl',
    ]);
  });

  it('fails the restore when a pending file is gone', () => {
    const h = sink().open();
    h.processElement(1);
    const state = h.snapshot(1);
    rmSync(join(dir, '.part-0-0.jsonl.inprogress-0'));
    expect(() => sink({ attempt: 1 }).open([state])).toThrow(FileSinkRestoreError);
    expect(() => sink({ attempt: 1 }).open([state])).toThrow(
      /part file part-0-0\.jsonl of checkpoint 1 is missing/,
    );
  });

  it('starting without restored state replaces what a previous run left, also a file at the path', () => {
    writeFileSync(dir, 'old single-file output\n');
    const first = sink({ subtask: 0, parallelism: 3 }).open();
    first.processElement('x');
    first.snapshot(1);
    first.head.notifyCheckpointComplete!(1);
    writeFileSync(join(dir, 'part-2-0.jsonl'), '"from a wider run"\n');
    writeFileSync(join(dir, 'part-1.jsonl'), '"from an older Freshet"\n');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    sink({ subtask: 0, parallelism: 2 }).open();
    sink({ subtask: 1, parallelism: 2 }).open();
    expect(files()).toEqual(['notes.txt']);
  });

  it('writes text lines: strings as they are, other values as JSON', () => {
    const h = sink({ format: 'text' }).open();
    h.processElement('plain line').processElement({ a: 1 }).processElement(7);
    h.snapshot(1);
    h.head.notifyCheckpointComplete!(1);
    expect(files()).toEqual(['part-0-0.txt']);
    expect(readFileSync(join(dir, 'part-0-0.txt'), 'utf8')).toBe('plain line\n{"a":1}\n7\n');
  });

  it('keeps its state as plain data that names every pending file', () => {
    const h = sink({ attempt: 4 }).open();
    h.processElement(1);
    const state: OperatorSnapshot = h.snapshot(9);
    expect(state.operator).toEqual({
      subtask: 0,
      nextCounter: 1,
      pending: [{ file: '.part-0-0.jsonl.inprogress-4', part: 'part-0-0.jsonl', checkpointId: 9 }],
    });
  });
});
