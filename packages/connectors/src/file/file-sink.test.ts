/**
 * FileSink's writer and committer driven directly (the runtime's operator
 * tests drive them through the framework): rolling by size and by time,
 * buckets, CSV rows.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { SinkWriterContext } from '@freshet/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BucketAssigners, FileSink, RowEncoders } from './file-sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-filesink-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A sink writer context on a clock the test moves. */
function context(): { ctx: SinkWriterContext; advance: (to: number) => void } {
  let now = 0;
  const timers: { at: number; fn: (t: number) => void }[] = [];
  const ctx: SinkWriterContext = {
    subtaskIndex: 0,
    parallelism: 1,
    attempt: 0,
    jobName: 'test',
    operatorId: 'files',
    runId: 'run',
    checkpointIntervalMs: 1000,
    metrics: { inc: () => undefined, set: () => undefined },
    now: () => now,
    schedule: (at, fn) => {
      const t = { at, fn };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    },
    fail: (error) => {
      throw error;
    },
    setBackpressured: () => undefined,
  };
  return {
    ctx,
    advance: (to) => {
      now = to;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) {
        if (t.at > now) continue;
        timers.splice(timers.indexOf(t), 1);
        t.fn(t.at);
      }
    },
  };
}

const files = (): string[] =>
  (function walk(at: string): string[] {
    return readdirSync(at, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(at, e.name)) : [relative(dir, join(at, e.name))],
    );
  })(dir).sort();

describe('FileSink', () => {
  it('rolls part files by size and by inactivity between checkpoints, and commits them all at the next one', async () => {
    const sink = FileSink.forRowFormat(dir, RowEncoders.text<string>())
      .withRollingPolicy({
        maxPartSizeBytes: 64 * 1024,
        rolloverIntervalMs: Infinity,
        inactivityIntervalMs: 5000,
      })
      .build();
    const clock = context();
    const { ctx } = clock;
    const committer = sink.createCommitter(ctx);
    const writer = sink.createWriter(ctx, []);
    await writer.start?.();
    const line = 'x'.repeat(1023);
    for (let i = 0; i < 130; i++) writer.write(line, 0); // 130 KiB: two size rolls, and a rest in progress
    clock.advance(6000); // no record for 5 s: the rest rolls too
    expect(files()).toEqual([
      '.part-0-0.txt.inprogress-0',
      '.part-0-1.txt.inprogress-0',
      '.part-0-2.txt.inprogress-0',
    ]);
    const pending = writer.prepareCommit!(1);
    expect(pending.map((p) => p.part)).toEqual(['part-0-0.txt', 'part-0-1.txt', 'part-0-2.txt']);
    await committer.commit(1, pending);
    expect(files()).toEqual(['part-0-0.txt', 'part-0-1.txt', 'part-0-2.txt']);
    const lines = files().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    expect(lines).toHaveLength(130);
    await writer.close();
  });

  it('writes CSV rows into event-time hour buckets', async () => {
    const sink = FileSink.forRowFormat(
      dir,
      RowEncoders.csv<{ id: number; note: string }>({ columns: ['id', 'note'] }),
    )
      .withBucketAssigner(BucketAssigners.eventTimeHourly())
      .build();
    const { ctx } = context();
    const committer = sink.createCommitter(ctx);
    const writer = sink.createWriter(ctx, []);
    await writer.start?.();
    writer.write({ id: 1, note: 'plain' }, Date.UTC(2024, 4, 1, 9, 59));
    writer.write({ id: 2, note: 'a, "quoted" one' }, Date.UTC(2024, 4, 1, 10, 0));
    await committer.commit(1, writer.prepareCommit!(1));
    expect(files()).toEqual(['dt=2024-05-01/hour=09/part-0-0.csv', 'dt=2024-05-01/hour=10/part-0-1.csv']);
    expect(readFileSync(join(dir, 'dt=2024-05-01/hour=10/part-0-1.csv'), 'utf8')).toBe(
      '2,"a, ""quoted"" one"\n',
    );
    await writer.close();
  });
});
