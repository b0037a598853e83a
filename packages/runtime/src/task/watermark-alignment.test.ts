// Watermark alignment on the local mini-cluster: a fast source aligned with a slow one pauses while
// its watermark is ahead of the slow one's by more than the drift, and every record still arrives.
import { describe, expect, it } from 'vitest';
import { WatermarkAlignmentCoordinator } from '../executiongraph/watermark-alignment.js';
import { runLocalJob } from '../minicluster/mini-cluster.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../operator.js';
import { fixtureJob } from '../testing/fixture-graphs.js';
import { SourceAlignment } from './source-alignment.js';

type Out = { src: string; v: number; lead: number };
const N = 2000;

async function run(alignDriftMs?: number) {
  const r = await runLocalJob({
    ...fixtureJob('aligned', {
      n: N,
      ratePerSecond: 1000,
      ...(alignDriftMs === undefined ? {} : { alignDriftMs }),
    }),
    // Small source batches: the fast source checks whether it must pause every 16 records.
    settings: { sourceBatchSize: 16 },
    timeoutMs: 30_000,
  });
  expect(r.error).toBeUndefined();
  expect(r.status).toBe('FINISHED');
  const out = r.collected.out as Out[];
  // Every record of both sources, once.
  for (const src of ['slow', 'fast'])
    expect(
      out
        .filter((x) => x.src === src)
        .map((x) => x.v)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: N }, (_, i) => i));
  const maxLead = Math.max(...out.filter((x) => x.src === 'fast').map((x) => x.lead));
  const fast = r.metrics.subtasks.find((s) => s.vertexName.startsWith('fast'));
  return { maxLead, fast };
}

describe('watermark alignment', () => {
  it('pauses the fast source while it is ahead of its group by more than the drift', async () => {
    // Unaligned, the fast source runs through all 20 s of event time while the slow one is at its start.
    const free = await run();
    expect(free.maxLead).toBeGreaterThan(10_000);
    expect(free.fast?.watermarkAlignment).toBeUndefined();

    const aligned = await run(1000);
    // The drift plus the slack of the exchange: reports every 20 ms (200 ms of the slow source's
    // event time), a 16-record batch (160 ms) and the slow records' way through the network buffers.
    expect(aligned.maxLead).toBeLessThan(2_500);
    expect(aligned.fast?.watermarkAlignment?.pauses).toBeGreaterThan(0);
    // 2000 slow records at 1000/s: the fast source waited for most of those 2 s.
    expect(aligned.fast?.watermarkAlignment?.pausedMs).toBeGreaterThan(1000);
  });

  it('the coordinator allows the group minimum plus the drift; idle and ended sources hold nobody back', () => {
    const c = new WatermarkAlignmentCoordinator();
    const r = (subtask: number, watermark: number) => ({
      group: 'g',
      vertexId: 'v1',
      subtask,
      watermark,
      maxDriftMs: 100,
    });
    expect(c.report([r(0, MIN_WATERMARK)])).toEqual([{ group: 'g', maxAllowedWatermark: MIN_WATERMARK }]);
    expect(c.report([r(0, 5_000), r(1, 2_000)])).toEqual([{ group: 'g', maxAllowedWatermark: 2_100 }]);
    expect(c.report([r(1, MAX_WATERMARK)])).toEqual([{ group: 'g', maxAllowedWatermark: 5_100 }]);
    expect(c.report([r(0, MAX_WATERMARK)])).toEqual([{ group: 'g', maxAllowedWatermark: MAX_WATERMARK }]);
  });

  it('a source pauses past the allowed watermark and goes on when allowed further', () => {
    const a = new SourceAlignment({ group: 'g', maxDriftMs: 100, updateIntervalMs: 10 });
    expect(a.shouldPause(0)).toBe(false); // no watermark yet
    a.onWatermark(50);
    expect(a.shouldPause(1)).toBe(true); // waits for the group's first announcement
    expect(a.allow(40)).toBe(false);
    expect(a.allow(60)).toBe(true);
    expect(a.shouldPause(11)).toBe(false);
    expect(a.pausedMs(20)).toBe(10);
    expect(a.pauses).toBe(1);
    a.onIdle(true);
    expect(a.report('v1', 0, false).watermark).toBe(MAX_WATERMARK);
  });
});
