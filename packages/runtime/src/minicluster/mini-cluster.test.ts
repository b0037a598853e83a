import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Partitioning } from '@freshet/graph';
import { describe, expect, it } from 'vitest';
import { subtaskForKey } from '../keygroups.js';
import { runLocalJob } from './mini-cluster.js';
import { fixtureJob, type KeyOrderRecord } from '../testing/fixture-graphs.js';

interface Tagged {
  k: number;
  v: number;
  sub: number;
}

async function partition(
  partitioning: Partitioning,
  srcP: number,
  dstP: number,
  n = 4000,
): Promise<Tagged[]> {
  const r = await runLocalJob({
    ...fixtureJob('partition', { n, srcP, dstP, partitioning }),
    timeoutMs: 20_000,
  });
  expect(r.error).toBeUndefined();
  expect(r.status).toBe('FINISHED');
  return r.collected.out as Tagged[];
}

function countBy(records: Tagged[], dstP: number): number[] {
  const counts = new Array<number>(dstP).fill(0);
  for (const r of records) counts[r.sub]!++;
  return counts;
}

describe('runLocalJob: partitioning across worker threads', () => {
  it('FORWARD keeps each record on its producer subtask', async () => {
    const out = await partition('FORWARD', 2, 2);
    expect(out).toHaveLength(4000);
    for (const r of out) expect(r.sub).toBe(r.v < 2000 ? 0 : 1);
  });

  it('REBALANCE spreads records round robin', async () => {
    const out = await partition('REBALANCE', 2, 4);
    expect(countBy(out, 4)).toEqual([1000, 1000, 1000, 1000]);
  });

  it('RESCALE sends each producer to its own consumers', async () => {
    const out = await partition('RESCALE', 2, 4);
    expect(countBy(out, 4)).toEqual([1000, 1000, 1000, 1000]);
    for (const r of out) expect(r.v < 2000 ? r.sub < 2 : r.sub >= 2).toBe(true);
  });

  it('HASH puts every key on the subtask owning its key group', async () => {
    const out = await partition('HASH', 2, 4);
    expect(out).toHaveLength(4000);
    for (const r of out) expect(r.sub).toBe(subtaskForKey(r.k, 128, 4));
    expect(countBy(out, 4).every((c) => c > 0)).toBe(true);
  });

  it('BROADCAST gives every consumer every record', async () => {
    const out = await partition('BROADCAST', 2, 3, 1000);
    expect(countBy(out, 3)).toEqual([1000, 1000, 1000]);
  });
});

describe('runLocalJob', () => {
  it('gives the same keyed result at parallelism 4 as at parallelism 1', async () => {
    const n = 20_000;
    const finals = async (p: number): Promise<Map<number, number>> => {
      const r = await runLocalJob({ ...fixtureJob('keyedSum', { n, p }), timeoutMs: 20_000 });
      expect(r.status).toBe('FINISHED');
      const sums = r.collected.sums as { k: number; v: number }[];
      expect(sums).toHaveLength(n);
      const m = new Map<number, number>();
      for (const s of sums) m.set(s.k, Math.max(m.get(s.k) ?? 0, s.v));
      return m;
    };
    const [p1, p4] = await Promise.all([finals(1), finals(4)]);
    expect(p4).toEqual(p1);
    let expected = 0;
    for (let x = 7; x < n; x += 50) expected += x;
    expect(p1.get(7)).toBe(expected);
  });

  it("fails the job with the user's message, stack and operator when a user function throws", async () => {
    const r = await runLocalJob({ ...fixtureJob('throwing', { n: 2000, p: 2 }), timeoutMs: 20_000 });
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toContain('boom at 500');
    expect(r.error?.operator).toBe('explode');
    expect(r.error?.stack).toContain('explode');
    expect(r.error?.subtask).toBe(0);
  });

  it('cancels a running unbounded job through the signal', async () => {
    const controller = new AbortController();
    const metrics: number[] = [];
    // The workers' start-up (re-planning, loading the runtime and the connectors from sources) takes seconds here.
    const fallback = setTimeout(() => {
      controller.abort();
    }, 10_000);
    const r = await runLocalJob({
      ...fixtureJob('infinite', { p: 2 }),
      signal: controller.signal,
      timeoutMs: 20_000,
      onMetrics: (m) => {
        metrics.push(m.sourceRecords);
        if (m.sourceRecords > 0) controller.abort();
      },
    });
    clearTimeout(fallback);
    expect(r.status).toBe('CANCELED');
    expect(r.durationMs).toBeLessThan(13_000);
    expect(metrics.length).toBeGreaterThanOrEqual(1);
    expect(metrics.at(-1)).toBeGreaterThan(0);
  });

  it('measures backpressure when a slow consumer holds back the producer', async () => {
    // 4 credits of 1024 records per channel: far fewer than the 30,000 records, so the producer must wait.
    const r = await runLocalJob({
      ...fixtureJob('slow', { n: 30_000, slowUs: 30 }),
      initialCredits: 4,
      timeoutMs: 30_000,
    });
    expect(r.status).toBe('FINISHED');
    const source = r.metrics.subtasks.find((m) => m.vertexName.startsWith('seq'))!;
    expect(source.recordsOut).toBe(30_000);
    expect(source.backpressuredMs).toBeGreaterThan(0);
    const slow = r.metrics.subtasks.filter((m) => m.vertexName.startsWith('slow'));
    expect(slow.reduce((s, m) => s + m.recordsIn, 0)).toBe(30_000);
    // The remote consumer received serialized batches.
    expect(slow.some((m) => m.bytesIn > 0)).toBe(true);
  });

  it('reads a text file split across subtasks and writes JSON lines part files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'freshet-io-'));
    const path = join(dir, 'in.txt');
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`);
    writeFileSync(path, lines.join('\n') + '\n');
    const out = join(dir, 'out');
    const r = await runLocalJob({ ...fixtureJob('textFile', { path, p: 3, out }), timeoutMs: 20_000 });
    expect(r.status).toBe('FINISHED');
    expect([...(r.collected.lines as string[])].sort()).toEqual([...lines].sort());
    const parts = readdirSync(out).sort();
    expect(parts).toEqual(['part-0-0.jsonl', 'part-1-0.jsonl', 'part-2-0.jsonl']);
    const written = parts
      .flatMap((p) => readFileSync(join(out, p), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as string);
    expect(written.sort()).toEqual([...lines].sort());
  });
});

describe('runLocalJob: BATCH keyed input grouped by key', () => {
  const run = async (runtimeMode: 'STREAMING' | 'BATCH'): Promise<KeyOrderRecord[]> => {
    const r = await runLocalJob({
      ...fixtureJob('keyOrder', { n: 2000, p: 2, runtimeMode }),
      timeoutMs: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    return r.collected.out as KeyOrderRecord[];
  };
  /** Per subtask, the keys in the order the function saw them, one entry per run of equal keys. */
  const keyRuns = (out: KeyOrderRecord[], sub: number): number[] => {
    const runs: number[] = [];
    for (const r of out) if (r.sub === sub && runs[runs.length - 1] !== r.k) runs.push(r.k);
    return runs;
  };

  it('feeds a keyed process function without onTimer key by key, in key order, arrival order within a key', async () => {
    const out = await run('BATCH');
    expect(out).toHaveLength(2000);
    for (const sub of [0, 1]) {
      const runs = keyRuns(out, sub);
      expect(runs.length).toBeGreaterThan(10);
      // Each key once, sorted: the records of a key came one after another.
      expect(runs).toEqual([...new Set(runs)].sort((a, b) => a - b));
    }
    for (let k = 0; k < 50; k++) {
      const own = out.filter((r) => r.k === k);
      expect(own.map((r) => r.v)).toEqual(own.map((r) => r.v).sort((a, b) => a - b));
      expect(own.map((r) => r.before)).toEqual(own.map((_, i) => i));
    }
  });

  it('STREAMING reads the same input as it arrives (keys interleaved), with the same per-key results', async () => {
    const streaming = await run('STREAMING');
    const batch = await run('BATCH');
    expect(keyRuns(streaming, 0).length).toBeGreaterThan(500);
    const byValue = (rs: KeyOrderRecord[]) => [...rs].sort((a, b) => a.v - b.v);
    expect(byValue(batch)).toEqual(byValue(streaming));
  });
});
