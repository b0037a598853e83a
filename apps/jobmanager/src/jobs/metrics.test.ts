import { describe, expect, it } from 'vitest';
import { SubtaskMetricsSampleSchema, type SubtaskMetricsSample } from '@freshet/protocol';
import { archivedMetrics, METRICS_HISTORY_SECONDS, MetricsStore } from './metrics.js';

const sample = (over: Partial<SubtaskMetricsSample>): SubtaskMetricsSample => ({
  jobId: 'j',
  attempt: 0,
  vertexId: 'v1',
  subtaskIndex: 0,
  recordsIn: 0,
  recordsOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  busyRatio: 0,
  backpressureRatio: 0,
  inputWatermark: null,
  at: 0,
  ...over,
});

describe('MetricsStore: backpressure and watermarks per subtask', () => {
  it('derives the idle ratio and the watermark lag from a sample', () => {
    const store = new MetricsStore(() => 10_000);
    store.ingest(sample({ busyRatio: 0.25, backpressureRatio: 0.5, inputWatermark: 7_000, at: 9_500 }));
    const m = store.subtask('j', 'v1', 0)!;
    expect(m.idleRatio).toBeCloseTo(0.25);
    expect(m.watermarkLagMs).toBe(2_500);
    // The final watermark of a bounded input trails nothing; no watermark has no lag.
    store.ingest(sample({ subtaskIndex: 1, inputWatermark: Number.MAX_SAFE_INTEGER, at: 9_500 }));
    store.ingest(sample({ subtaskIndex: 2, busyRatio: 0.7, backpressureRatio: 0.6, at: 9_500 }));
    expect(store.subtask('j', 'v1', 1)!.watermarkLagMs).toBeNull();
    expect(store.subtask('j', 'v1', 2)!.watermarkLagMs).toBeNull();
    expect(store.subtask('j', 'v1', 2)!.idleRatio).toBe(0);
  });

  it('keeps a bounded per-second history per subtask, with gaps where a subtask fell silent', () => {
    let now = 1_000_000;
    const store = new MetricsStore(() => now);
    for (let s = 0; s < METRICS_HISTORY_SECONDS + 20; s++) {
      store.ingest(
        sample({ busyRatio: 0.5, backpressureRatio: (s % 10) / 10, at: now, inputWatermark: now - 300 }),
      );
      store.ingest(sample({ vertexId: 'v2', at: now }));
      if (s < 3) store.ingest(sample({ subtaskIndex: 1, at: now, busyRatio: 1 }));
      store.recordSecond('j', ['v1', 'v2']);
      now += 1_000;
    }
    const history = store.subtaskHistory('j', 'v1');
    expect(Object.keys(history).sort()).toEqual(['0', '1']);
    expect(history[0]).toHaveLength(METRICS_HISTORY_SECONDS);
    expect(history[0]!.at(-1)).toMatchObject({ busyRatio: 0.5, backpressureRatio: 0.9, watermarkLagMs: 300 });
    expect(history[0]!.at(-1)!.idleRatio).toBeCloseTo(0);
    // Subtask 1 stopped reporting after 3 s: its points end once its last sample went stale.
    expect(history[1]!.length).toBeLessThan(10);
    expect(Object.keys(store.subtaskHistory('j', 'v2'))).toEqual(['0']);
    store.forget('j');
    expect(store.subtaskHistory('j', 'v1')).toEqual({});
  });

  it('reads snapshots written before the idle ratio and the lag existed', () => {
    const archived = archivedMetrics({
      subtasks: {
        'v1#0': {
          vertexId: 'v1',
          recordsIn: 5,
          recordsOut: 5,
          bytesIn: 0,
          bytesOut: 0,
          recordsInPerSec: 0,
          recordsOutPerSec: 0,
          bytesInPerSec: 0,
          bytesOutPerSec: 0,
          busyRatio: 0,
          backpressureRatio: 0,
          inputWatermark: null,
          receivedAt: 0,
          user: [],
        } as never,
      },
      history: {},
    });
    expect(archived.subtask('j', 'v1', 0)).toMatchObject({
      recordsIn: 5,
      idleRatio: 0,
      watermarkLagMs: null,
    });
  });

  it("keeps a subtask's connector metrics, live and in the snapshot a finished job leaves", () => {
    const connector = { recordsRead: 40, bytesRead: 1_234, 'lag.orders-0': 7, 'lag.orders-1': 0 };
    // What a TaskManager sends passes the protocol's schema as it is.
    const wire = SubtaskMetricsSampleSchema.parse(sample({ recordsOut: 40, connector, at: 9_500 }));
    const store = new MetricsStore(() => 10_000);
    store.ingest(wire);
    store.ingest(sample({ subtaskIndex: 1, at: 9_500 }));
    expect(store.subtask('j', 'v1', 0)!.connector).toEqual(connector);
    expect(store.subtask('j', 'v1', 1)!.connector).toBeUndefined();
    const archived = archivedMetrics(JSON.parse(JSON.stringify(store.snapshot('j'))) as never);
    expect(archived.subtask('j', 'v1', 0)!.connector).toEqual(connector);
  });
});
