import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileSinkRestoreError } from '@freshet/connectors';
import type { OperatorSnapshot } from '../../operator.js';
import { OperatorHarness, testNode } from '../../testing/harness.js';
import { createSinkOperator } from '../sinks.js';
import { loadConnectors } from '../connectors-module.js';

/** The shorthand sinks `writeAsJsonLines` / `writeAsText`: FileSink on the writer/committer framework. */
type FileSinkFormat = 'jsonLines' | 'text';

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
    [createSinkOperator(node, { collect: () => undefined })],
  );
}

/** Opens (from `restored`, if given) and waits until restored commits are done and the writer started. */
async function opened(h: OperatorHarness, restored?: readonly OperatorSnapshot[]): Promise<OperatorHarness> {
  h.open(restored);
  return h.settle();
}

/** Tells the sink that checkpoint `id` completed and waits for its commit. */
async function complete(h: OperatorHarness, id: number): Promise<void> {
  h.head.notifyCheckpointComplete!(id);
  await h.settle();
}

const files = (): string[] => readdirSync(dir).sort();
/** The records readers see: every committed part file, in name order. */
const committed = (): unknown[] =>
  files()
    .filter((f) => f.startsWith('part-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as unknown);

describe('the exactly-once file sink (FileSink behind writeAsJsonLines / writeAsText)', () => {
  // A host loads the connectors before it builds a file sink (the slot worker does when its graph has one).
  beforeAll(async () => {
    await loadConnectors();
  });
  it('writes in-progress files, makes them pending at a checkpoint and commits them when it completes', async () => {
    const h = await opened(sink({ attempt: 3 }));
    h.processElement({ n: 1 }).processElement({ n: 2 });
    h.processWatermark(10); // flushes into the in-progress file
    expect(files()).toEqual(['.part-0-0.jsonl.inprogress-3']);
    expect(committed()).toEqual([]);
    h.snapshot(1);
    h.processElement({ n: 3 });
    h.snapshot(2);
    expect(files()).toEqual(['.part-0-0.jsonl.inprogress-3', '.part-0-1.jsonl.inprogress-3']);
    await complete(h, 1);
    expect(files()).toEqual(['.part-0-1.jsonl.inprogress-3', 'part-0-0.jsonl']);
    expect(committed()).toEqual([{ n: 1 }, { n: 2 }]);
    // Checkpoint 2 was aborted; 3 completes and commits what was pending for 2 as well.
    h.processElement({ n: 4 });
    h.snapshot(3);
    await complete(h, 3);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl', 'part-0-2.jsonl']);
    expect(committed()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    // A checkpoint with nothing new adds no file.
    h.snapshot(4);
    await complete(h, 4);
    expect(files()).toHaveLength(3);
    h.close();
  });

  it('after a failure, commits the restored pending files, deletes what later attempts wrote and continues the counter', async () => {
    const before = await opened(sink({ attempt: 0 }));
    before.processElement('a').processElement('b');
    before.snapshot(1);
    await complete(before, 1);
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

    const after = await opened(sink({ attempt: 1 }), [restoredState]);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl']);
    expect(committed()).toEqual(['a', 'b', 'c']);
    // The source replays from checkpoint 2: d and e again, then the job ends.
    after.processElement('d').processElement('e');
    after.snapshot(3);
    await complete(after, 3);
    expect(files()).toEqual(['part-0-0.jsonl', 'part-0-1.jsonl', 'part-0-2.jsonl']);
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);

    // Restoring the same state again (another failure) is idempotent: nothing is committed twice.
    const again = await opened(sink({ attempt: 2 }), [restoredState]);
    again.close();
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it("leaves the other subtasks' files alone on restore", async () => {
    const s0 = await opened(sink({ subtask: 0, parallelism: 2 }));
    const s1 = await opened(sink({ subtask: 1, parallelism: 2 }));
    s0.processElement(1);
    s1.processElement(2);
    const state0 = s0.snapshot(1);
    s1.snapshot(1);
    s1.processElement(3);
    s1.processWatermark(5);
    await opened(sink({ subtask: 0, parallelism: 2, attempt: 1 }), [state0]);
    expect(files()).toEqual([
      '.part-1-0.jsonl.inprogress-0',
      '.part-1-1.jsonl.inprogress-0',
      'part-0-0.jsonl',
    ]);
  });

  it('fails the restore when a pending file is gone', async () => {
    const h = await opened(sink());
    h.processElement(1);
    const state = h.snapshot(1);
    rmSync(join(dir, '.part-0-0.jsonl.inprogress-0'));
    const restored = await opened(sink({ attempt: 1 }), [state]);
    // The restored commit fails the subtask (asynchronously, so through failTask).
    expect(restored.failures).toHaveLength(1);
    expect(restored.failures[0]).toBeInstanceOf(FileSinkRestoreError);
    expect((restored.failures[0] as Error).message).toMatch(
      /part file part-0-0\.jsonl of checkpoint 1 is missing/,
    );
  });

  it('starting without restored state replaces what a previous run left, also a file at the path', async () => {
    writeFileSync(dir, 'old single-file output\n');
    const first = await opened(sink({ subtask: 0, parallelism: 3 }));
    first.processElement('x');
    first.snapshot(1);
    await complete(first, 1);
    writeFileSync(join(dir, 'part-2-0.jsonl'), '"from a wider run"\n');
    writeFileSync(join(dir, 'part-1.jsonl'), '"from an older Freshet"\n');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    await opened(sink({ subtask: 0, parallelism: 2 }));
    await opened(sink({ subtask: 1, parallelism: 2 }));
    expect(files()).toEqual(['notes.txt']);
  });

  it('writes text lines: strings as they are, other values as JSON', async () => {
    const h = await opened(sink({ format: 'text' }));
    h.processElement('plain line').processElement({ a: 1 }).processElement(7);
    h.snapshot(1);
    await complete(h, 1);
    expect(files()).toEqual(['part-0-0.txt']);
    expect(readFileSync(join(dir, 'part-0-0.txt'), 'utf8')).toBe('plain line\n{"a":1}\n7\n');
  });

  it('keeps its state as plain data that names every pending file', async () => {
    const h = await opened(sink({ attempt: 4 }));
    h.processElement(1);
    const state: OperatorSnapshot = h.snapshot(9);
    expect(state.operator).toMatchObject({
      v: 1,
      subtask: 0,
      writer: { subtask: 0, nextCounter: 1 },
      pending: [
        { checkpointId: 9, committables: [{ file: '.part-0-0.jsonl.inprogress-4', part: 'part-0-0.jsonl' }] },
      ],
    });
  });
});
