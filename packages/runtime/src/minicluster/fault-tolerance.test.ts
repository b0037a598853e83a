/**
 * Local mode recovers from failures with exactly-once output: real worker
 * threads, a stateful keyed-window job (hash exchange, event-time windows)
 * writing through the exactly-once file sink, checkpoints every 200 ms, and
 * a user function that fails once — it throws, or ends its worker with
 * process.exit — at a seeded random record. The committed output must equal
 * an uninterrupted run's: no record lost, none duplicated.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureJob, type FaultTolerantWindow, type FixtureParams } from '../testing/fixture-graphs.js';
import { runLocalJob, type LocalRestart } from './mini-cluster.js';

const root = mkdtempSync(join(tmpdir(), 'freshet-ft-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
let runs = 0;
const fresh = (name: string): string => join(root, `${name}-${++runs}`);

/** A deterministic "random" record index in [from, to) for a seed (a 32-bit LCG step). */
function seededIndex(seed: number, from: number, to: number): number {
  const x = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
  return from + (x % (to - from));
}

/** The committed part files of a sink directory, as sorted JSON lines; fails if anything is left in progress. */
function committedLines(dir: string): string[] {
  const files = readdirSync(dir);
  expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
  return files
    .filter((f) => /^part-\d+-\d+\.jsonl$/.test(f))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .sort();
}

const N = 6000;
const base: FixtureParams = { n: N, p: 2, ratePerSecond: 3000, checkpointIntervalMs: 200 };

async function run(params: FixtureParams, onRestart?: (r: LocalRestart) => void) {
  const out = fresh('out');
  const result = await runLocalJob({
    ...fixtureJob('faultTolerant', { ...params, out }),
    timeoutMs: 60_000,
    ...(onRestart ? { onRestart } : {}),
  });
  return { result, out };
}

let uninterrupted: Promise<string[]> | undefined;
/** The committed output of a run without failures (computed once). */
function expected(): Promise<string[]> {
  uninterrupted ??= (async () => {
    const { result, out } = await run(base);
    expect(result.status).toBe('FINISHED');
    expect(result.restarts).toBe(0);
    const lines = committedLines(out);
    const windows = lines.map((l) => JSON.parse(l) as FaultTolerantWindow);
    // Every record is in exactly one window result.
    expect(windows.reduce((s, w) => s + w.n, 0)).toBe(N);
    expect(windows.reduce((s, w) => s + w.sum, 0)).toBe((N * (N - 1)) / 2);
    return lines;
  })();
  return uninterrupted;
}

describe('runLocalJob recovers from failures with exactly-once output', () => {
  it('checkpoints periodically and once more at the end of the bounded input', async () => {
    const { result } = await run(base);
    expect(result.status).toBe('FINISHED');
    expect(result.checkpoints.length).toBeGreaterThanOrEqual(3);
    expect(result.checkpoints.at(-1)!.final).toBe(true);
    expect(result.checkpoints.slice(0, -1).some((c) => !c.final && c.bytes > 0)).toBe(true);
    expect(result.checkpoints.map((c) => c.checkpointId)).toEqual(result.checkpoints.map((_, i) => i + 1));
  });

  it.each([
    ['throws', 'throw', 11],
    ['ends its worker with process.exit', 'exit', 23],
  ] as const)(
    'restarts from the latest checkpoint when a user function %s, with the output of an uninterrupted run',
    async (_what, failWith, seed) => {
      const marker = fresh('marker');
      const failAt = seededIndex(seed, N / 3, (2 * N) / 3);
      const restarts: LocalRestart[] = [];
      const { result, out } = await run(
        { ...base, failAt, marker, failWith, restart: { type: 'fixed-delay', attempts: 3, delayMs: 50 } },
        (r) => restarts.push(r),
      );
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('FINISHED');
      expect(existsSync(marker)).toBe(true);
      expect(result.restarts).toBe(1);
      expect(restarts).toHaveLength(1);
      expect(restarts[0]!.attempt).toBe(1);
      expect(restarts[0]!.error.message).toContain(
        failWith === 'exit' ? 'exited with code 3' : `flaky failure at record ${failAt}`,
      );
      // It restored a checkpoint taken before the failure, not the start.
      expect(restarts[0]!.checkpointId).toBeGreaterThanOrEqual(1);
      expect(committedLines(out)).toEqual(await expected());
    },
  );

  it("fails with the user's error once the restart strategy is exhausted", async () => {
    // No marker file ever stops it: every attempt fails at the same record.
    const { result, out } = await run({
      ...base,
      ratePerSecond: 20_000,
      failAt: 100,
      marker: join(root, 'no-such-dir', 'marker'),
      restart: { type: 'fixed-delay', attempts: 2, delayMs: 10 },
    });
    expect(result.status).toBe('FAILED');
    expect(result.restarts).toBe(2);
    expect(result.error?.message).toMatch(/no-such-dir/);
    // Nothing was committed: no checkpoint covering output completed.
    expect(existsSync(out) ? readdirSync(out).filter((f) => f.startsWith('part-')) : []).toEqual([]);
  });

  it('without checkpointing does not restart, and a bounded job still finishes through its final checkpoint', async () => {
    const { result, out } = await run({ n: 3000, p: 2 });
    expect(result.status).toBe('FINISHED');
    expect(result.checkpoints).toHaveLength(1);
    expect(result.checkpoints[0]!.final).toBe(true);
    const windows = committedLines(out).map((l) => JSON.parse(l) as FaultTolerantWindow);
    expect(windows.reduce((s, w) => s + w.n, 0)).toBe(3000);
    const failing = await run({ n: 3000, p: 2, failAt: 10, marker: fresh('marker') });
    expect(failing.result.status).toBe('FAILED');
    expect(failing.result.restarts).toBe(0);
    expect(failing.result.error?.message).toContain('flaky failure at record 10');
  });
});
