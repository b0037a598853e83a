/**
 * The split framework's source operator with real sources over real files:
 * exact resume from a checkpoint in the middle of a split, redistribution
 * of splits on a restore at another parallelism, splits discovered while
 * running, per-split watermarks, and bad input.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WatermarkStrategy, type Source, type StreamExecutionEnvironment } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import {
  BadRecordError,
  ConnectorConfigError,
  ConnectorUnavailableError,
  FileSource,
  csv,
  jsonLines,
  textLines,
} from '@freshet/connectors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from '../../checkpoint/snapshot-codec.js';
import type { OperatorSnapshot, SourceOperator } from '../../operator.js';
import { ManualProcessingTimeService, OperatorHarness } from '../../testing/harness.js';
import { createSourceOperator } from '../sources.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-src-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The source node `build` creates, planned by the real API. */
async function sourceNode(build: (env: StreamExecutionEnvironment) => void) {
  const graph = await buildStreamGraph((env) => {
    build(env);
    // A plan needs a sink; only the source node is used here.
    env.fromElements(0).discard();
  });
  return { node: graph.nodes.find((n) => n.kind === 'source')!, job: graph.config };
}

interface Subtask {
  h: OperatorHarness;
  src: SourceOperator;
}

async function openSubtask(
  build: (env: StreamExecutionEnvironment) => void,
  subtask: number,
  parallelism: number,
  restored?: readonly OperatorSnapshot[],
  clock?: ManualProcessingTimeService,
): Promise<Subtask> {
  const { node, job } = await sourceNode(build);
  const src = createSourceOperator(node);
  const h = new OperatorHarness(
    [node],
    { subtaskIndex: subtask, parallelism, job, ...(clock ? { clock } : {}) },
    [src],
  );
  h.open(restored);
  return { h, src };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Polls until `max` records were emitted or the source ended (waiting out its asynchronous start and discovery). */
async function emitUpTo(s: Subtask, max: number): Promise<'MORE' | 'END'> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const got = s.h.output.records.length;
    if (got >= max) return 'MORE';
    if (s.h.failures.length > 0) throw s.h.failures[0] as Error;
    const r = s.src.emitNext(Math.min(7, max - got));
    if (r === 'END') return 'END';
    if (r === 'IDLE') await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('the source neither emitted nor ended');
}

const roundTrip = (s: OperatorSnapshot): OperatorSnapshot =>
  decodeSubtaskSnapshot(encodeSubtaskSnapshot(new Map([[1, s]]))).get(1)!;

describe('FileSource through the framework operator', () => {
  it('reads a file in byte ranges over three subtasks and resumes each exactly at any cut', async () => {
    const path = join(dir, 'in.txt');
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'é€'.repeat(i % 5)}\r`);
    writeFileSync(path, lines.join('\n').slice(0, -1));
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromSource(
        FileSource.forFormat(textLines(), path).splitSize(700).build(),
        WatermarkStrategy.noWatermarks(),
        'lines',
      );
    };
    const all: unknown[] = [];
    for (let subtask = 0; subtask < 3; subtask++) {
      const whole = await openSubtask(build, subtask, 3);
      expect(await emitUpTo(whole, Infinity)).toBe('END');
      const expected = whole.h.values();
      all.push(...expected);
      for (const cut of [0, 1, 13, 50, 99]) {
        const first = await openSubtask(build, subtask, 3);
        await emitUpTo(first, cut);
        const snapshot = roundTrip(first.src.snapshotState(1));
        first.h.close();
        const second = await openSubtask(build, subtask, 3, [snapshot]);
        expect(await emitUpTo(second, Infinity)).toBe('END');
        expect([...first.h.values(), ...second.h.values()], `subtask ${subtask} cut at ${cut}`).toEqual(
          expected,
        );
        second.h.close();
      }
      whole.h.close();
    }
    // Lines end in \r\n (the \r is dropped); the last one has no newline; every line once.
    expect(all.sort()).toEqual(lines.map((l) => l.slice(0, -1)).sort());
  });

  it('hands every split to its owner when restored at another parallelism (2 -> 3 and 3 -> 1)', async () => {
    for (let f = 0; f < 6; f++) {
      writeFileSync(
        join(dir, `f${f}.jsonl`),
        Array.from({ length: 40 }, (_, i) => JSON.stringify({ f, i })).join('\n') + '\n',
      );
    }
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromSource(
        FileSource.forFormat(jsonLines<{ f: number; i: number }>(), dir).build(),
        WatermarkStrategy.noWatermarks(),
        'files',
      );
    };
    const before: unknown[] = [];
    const states: OperatorSnapshot[] = [];
    for (let s = 0; s < 2; s++) {
      const sub = await openSubtask(build, s, 2);
      await emitUpTo(sub, 25 + s * 30);
      before.push(...sub.h.values());
      states.push(roundTrip(sub.src.snapshotState(1)));
      sub.h.close();
    }
    // Every new subtask gets every former state and keeps what it owns now.
    const middle: unknown[] = [];
    const states3: OperatorSnapshot[] = [];
    for (let s = 0; s < 3; s++) {
      const sub = await openSubtask(build, s, 3, states);
      await emitUpTo(sub, 20);
      middle.push(...sub.h.values());
      states3.push(roundTrip(sub.src.snapshotState(2)));
      sub.h.close();
    }
    const last = await openSubtask(build, 0, 1, states3);
    expect(await emitUpTo(last, Infinity)).toBe('END');
    const got = [...before, ...middle, ...last.h.values()].map((v) => JSON.stringify(v)).sort();
    const expected = Array.from({ length: 6 * 40 }, (_, k) =>
      JSON.stringify({ f: Math.floor(k / 40), i: k % 40 }),
    ).sort();
    expect(got).toEqual(expected);
  });

  it('monitors a directory: files that appear later are read once, across a restore', async () => {
    const clock = new ManualProcessingTimeService(0);
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.txt'), 'a1\na2\n');
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromSource(
        FileSource.forFormat(textLines(), join(dir, 'in')).monitorContinuously(1000).build(),
        WatermarkStrategy.noWatermarks(),
        'watch',
      );
    };
    const s = await openSubtask(build, 0, 1, undefined, clock);
    expect(await emitUpTo(s, 2)).toBe('MORE');
    writeFileSync(join(dir, 'in', 'b.txt'), 'b1\n');
    writeFileSync(join(dir, 'in', '.b.txt.inprogress-0'), 'hidden: a FileSink writes here\n');
    mkdirSync(join(dir, 'in', 'sub'));
    writeFileSync(join(dir, 'in', 'sub', 'c.txt'), 'c1\nc2\n');
    clock.advanceTo(1000);
    expect(await emitUpTo(s, 5)).toBe('MORE');
    expect(s.h.values().sort()).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
    const snapshot = roundTrip(s.src.snapshotState(1));
    s.h.close();
    writeFileSync(join(dir, 'in', 'd.txt'), 'd1\n');
    const after = await openSubtask(build, 0, 1, [snapshot], clock);
    expect(await emitUpTo(after, 1)).toBe('MORE');
    for (let i = 0; i < 20; i++) await tick();
    after.src.emitNext(100);
    expect(after.h.values()).toEqual(['d1']);
    after.h.close();
  });

  it('reads CSV with a header, quoted delimiters and newlines, typed by a schema', async () => {
    writeFileSync(
      join(dir, 'orders.csv'),
      'id,item,qty\n1,"pen, blue",3\n2,"note\nbook",10\n3,"say ""hi""",1\n',
    );
    const schema = {
      safeParse(input: unknown) {
        const r = input as Record<string, string>;
        const qty = Number(r.qty);
        return Number.isInteger(qty)
          ? { success: true as const, data: { id: Number(r.id), item: r.item!, qty } }
          : {
              success: false as const,
              error: { message: 'bad qty', issues: [{ path: ['qty'], message: 'expected an integer' }] },
            };
      },
    };
    const build = (env: StreamExecutionEnvironment): void => {
      env.fromSource(
        FileSource.forFormat(csv({ header: true, schema }), dir).build(),
        WatermarkStrategy.noWatermarks(),
        'csv',
      );
    };
    const s = await openSubtask(build, 0, 1);
    expect(await emitUpTo(s, Infinity)).toBe('END');
    expect(s.h.values()).toEqual([
      { id: 1, item: 'pen, blue', qty: 3 },
      { id: 2, item: 'note\nbook', qty: 10 },
      { id: 3, item: 'say "hi"', qty: 1 },
    ]);
  });

  it('names the file and line of a malformed record, or skips and counts it', async () => {
    writeFileSync(join(dir, 'rows.csv'), 'n,m\n1,2\n3,x\n"open,4\n5,6\n');
    writeFileSync(join(dir, 'events.jsonl'), '{"a":1}\n\n{"a":2\n{"a":3}\n');
    const schema = {
      safeParse(input: unknown) {
        const r = input as Record<string, string>;
        return /^\d+$/.test(r.m ?? '')
          ? { success: true as const, data: r }
          : {
              success: false as const,
              error: { message: 'm', issues: [{ path: ['m'], message: 'not a number' }] },
            };
      },
    };
    const failing = await openSubtask(
      (env) => {
        env.fromSource(
          FileSource.forFormat(jsonLines(), join(dir, 'events.jsonl')).build(),
          WatermarkStrategy.noWatermarks(),
          'json',
        );
      },
      0,
      1,
    );
    const error = await emitUpTo(failing, Infinity).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRecordError);
    expect((error as Error).message).toMatch(/events\.jsonl line 3 is not JSON/);
    expect(failing.h.values()).toEqual([{ a: 1 }]);

    const skipping = await openSubtask(
      (env) => {
        env.fromSource(
          FileSource.forFormat(csv({ header: true, schema }), join(dir, 'rows.csv'))
            .onBadRecord('skip')
            .build(),
          WatermarkStrategy.noWatermarks(),
          'csv',
        );
      },
      0,
      1,
    );
    expect(await emitUpTo(skipping, Infinity)).toBe('END');
    // "3,x" fails the schema; the unclosed quote swallows the rest of the file as one bad record.
    expect(skipping.h.values()).toEqual([{ n: '1', m: '2' }]);
    expect(skipping.src.connectorMetrics!()).toMatchObject({ badRecords: 2, recordsRead: 1 });
  });

  it('fails naming the file when a discovered file cannot be read', async () => {
    writeFileSync(join(dir, 'a.txt'), 'a1\na2\n');
    writeFileSync(join(dir, 'b.txt'), 'b1\nb2\n');
    const s = await openSubtask(
      (env) => {
        env.fromSource(FileSource.forFormat(textLines(), dir).build(), WatermarkStrategy.noWatermarks(), 'x');
      },
      0,
      1,
    );
    expect(await emitUpTo(s, 1)).toBe('MORE');
    // Both files were discovered and assigned; the one not opened yet goes away before it is read.
    const gone = join(dir, s.h.values<string>()[0]!.startsWith('a') ? 'b.txt' : 'a.txt');
    rmSync(gone);
    const error = await emitUpTo(s, Infinity).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorUnavailableError);
    expect((error as Error).message).toContain(`FileSource: cannot read ${gone}`);
  });

  it('fails with the path when a directory is missing', async () => {
    const s = await openSubtask(
      (env) => {
        env.fromSource(
          FileSource.forFormat(textLines(), join(dir, 'nope')).build(),
          WatermarkStrategy.noWatermarks(),
          'x',
        );
      },
      0,
      1,
    );
    const error = await emitUpTo(s, Infinity).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorConfigError);
    expect((error as Error).message).toContain(`${join(dir, 'nope')} does not exist`);
  });
});

/** A source of `splits` numbered record streams, each record carrying its event time; for watermark tests. */
function timedSource(
  perSplit: readonly (readonly number[])[],
): Source<{ split: number; t: number }, { splitId: string; at: number }, null> {
  return {
    boundedness: 'BOUNDED',
    description: { connector: 'timed' },
    createEnumerator: () => ({
      discoverSplits: () => Promise.resolve(perSplit.map((_, i) => ({ splitId: `s${i}`, at: 0 }))),
      snapshotState: () => null,
    }),
    splitOwner: () => 0,
    createReader: () => {
      const splits: { splitId: string; at: number }[] = [];
      let done = false;
      return {
        addSplits: (s) => {
          splits.push(...s.map((x) => ({ ...x })));
        },
        notifyNoMoreSplits: () => {
          done = true;
        },
        // One record of every split per poll: the splits advance side by side.
        pollNext(output) {
          let any = false;
          for (const s of splits) {
            const times = perSplit[Number(s.splitId.slice(1))]!;
            if (s.at >= times.length) continue;
            output
              .forSplit(s.splitId)
              .collect({ split: Number(s.splitId.slice(1)), t: times[s.at]! }, times[s.at]);
            s.at++;
            any = true;
          }
          return any ? 'MORE_AVAILABLE' : done ? 'END_OF_INPUT' : 'NOTHING_AVAILABLE';
        },
        snapshotState: () => splits.map((s) => ({ ...s })),
        close: () => undefined,
      };
    },
  };
}

describe('per-split watermarks', () => {
  it('are the minimum over the active splits; an idle split no longer holds them back', async () => {
    const clock = new ManualProcessingTimeService(0);
    const build = (env: StreamExecutionEnvironment): void => {
      env.getConfig().setAutoWatermarkInterval(100);
      env.fromSource(
        timedSource([
          [1000, 2000, 3000, 4000, 5000],
          [1500, 1600],
        ]),
        WatermarkStrategy.forBoundedOutOfOrderness<{ split: number; t: number }>(0).withIdleness(300),
        'timed',
      );
    };
    const s = await openSubtask(build, 0, 1, undefined, clock);
    for (let i = 0; i < 5; i++) await tick();
    s.src.emitNext(2); // s0: 1000, s1: 1500
    clock.advanceTo(100);
    expect(s.h.watermarks()).toEqual([999]);
    s.src.emitNext(2); // s0: 2000, s1: 1600
    clock.advanceTo(200);
    expect(s.h.watermarks()).toEqual([999, 1599]);
    // s1 has no more records, s0 goes on: once s1 is idle (300 ms without records) it no longer holds back.
    s.src.emitNext(1); // s0: 3000
    clock.advanceTo(300);
    s.src.emitNext(1); // s0: 4000
    clock.advanceTo(400);
    s.src.emitNext(1); // s0: 5000
    clock.advanceTo(500);
    // s1 held the watermark at 1599 until it went idle at 500.
    expect(s.h.watermarks()).toEqual([999, 1599, 4999]);
    // Now both are quiet: the subtask's output goes idle.
    clock.advanceTo(900);
    expect(s.h.output.idleness).toEqual([true]);
    s.h.close();
  });
});
