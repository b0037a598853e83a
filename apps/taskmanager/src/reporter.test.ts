import { SubtaskMetricsSampleSchema } from '@freshet/protocol';
import { pino } from 'pino';
import type { SubtaskMetrics } from '@freshet/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlPlaneClient } from './control-client.js';
import { Reporter, toSample } from './reporter.js';

type Call =
  | { kind: 'collected'; values: unknown[] }
  | { kind: 'states'; states: string[] }
  | { kind: 'metrics'; recordsIn: number[] };

/** A stand-in for the JobManager's `executions.*` that records the order of calls; each takes `delayMs`. */
function fakeClient(calls: Call[], delayMs: number): ControlPlaneClient {
  const wait = (): Promise<void> => new Promise((r) => setTimeout(r, delayMs));
  const executions = {
    reportCollected: {
      mutate: async (input: { values: unknown[] }) => {
        calls.push({ kind: 'collected', values: input.values });
        await wait();
        return { accepted: input.values.length, truncated: false };
      },
    },
    reportStates: {
      mutate: async (input: { updates: { state: string }[] }) => {
        calls.push({ kind: 'states', states: input.updates.map((u) => u.state) });
        await wait();
        return { accepted: input.updates.length, ignored: 0 };
      },
    },
    reportMetrics: {
      mutate: async (input: { samples: { recordsIn: number }[] }) => {
        calls.push({ kind: 'metrics', recordsIn: input.samples.map((m) => m.recordsIn) });
        await wait();
        return { accepted: input.samples.length };
      },
    },
  };
  return { executions } as unknown as ControlPlaneClient;
}

/** A subtask's metrics as a task reports them, with `fields` set. */
function subtaskMetrics(fields: Partial<SubtaskMetrics>): SubtaskMetrics {
  return {
    vertexId: 'v',
    vertexName: 'sink',
    subtask: 0,
    state: 'RUNNING',
    recordsIn: 0,
    recordsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    busyRatio: 0,
    backpressureRatio: 0,
    busyMs: 0,
    backpressuredMs: 0,
    inputWatermark: -Infinity,
    ...fields,
  };
}

let reporter: Reporter | undefined;
afterEach(() => {
  reporter?.stop();
});

describe('Reporter', () => {
  it('sends records collected while a states call is on the wire before the FINISHED that follows them', async () => {
    const calls: Call[] = [];
    reporter = new Reporter({
      client: fakeClient(calls, 30),
      logger: pino({ level: 'silent' }),
      session: () => ({
        taskManagerId: 'tm',
        token: 't',
        heartbeatIntervalMs: 1000,
        heartbeatTimeoutMs: 4000,
      }),
    });
    reporter.state('job', 0, 'v', 0, 'RUNNING');
    // RUNNING is on the wire; the subtask collects its records and finishes meanwhile.
    await new Promise((r) => setTimeout(r, 10));
    reporter.collected('job', 0, 'out', [1, 2, 3]);
    reporter.state('job', 0, 'v', 0, 'FINISHED');
    await reporter.flush();
    expect(calls).toEqual([
      { kind: 'states', states: ['RUNNING'] },
      { kind: 'collected', values: [1, 2, 3] },
      { kind: 'states', states: ['FINISHED'] },
    ]);
  });
});

describe('Reporter metrics', () => {
  it("sends a subtask's last sample when it arrives while an earlier one is on the wire", async () => {
    const calls: Call[] = [];
    reporter = new Reporter({
      client: fakeClient(calls, 30),
      logger: pino({ level: 'silent' }),
      metricsIntervalMs: 60_000,
      session: () => ({
        taskManagerId: 'tm',
        token: 't',
        heartbeatIntervalMs: 1000,
        heartbeatTimeoutMs: 4000,
      }),
    });
    reporter.metrics('job', 0, subtaskMetrics({ recordsIn: 100 }));
    reporter.state('job', 0, 'v', 0, 'RUNNING');
    // The pump sends the sample of 100 first; while it is on the wire the subtask ends.
    await new Promise((r) => setTimeout(r, 10));
    reporter.metrics('job', 0, subtaskMetrics({ recordsIn: 4_600, state: 'FINISHED' }));
    reporter.state('job', 0, 'v', 0, 'FINISHED');
    await reporter.flush();
    // The final figures reach the JobManager, before the FINISHED they belong to.
    expect(calls).toEqual([
      { kind: 'metrics', recordsIn: [100] },
      { kind: 'metrics', recordsIn: [4_600] },
      { kind: 'states', states: ['RUNNING', 'FINISHED'] },
    ]);
  });
});

describe('toSample', () => {
  it("carries a subtask's connector metrics, leaving out a gauge JSON cannot carry", () => {
    const s = toSample(
      'j',
      0,
      subtaskMetrics({
        vertexName: 'Source: orders',
        subtask: 1,
        recordsOut: 3,
        connector: { recordsRead: 3, bytesRead: 42, 'lag.orders-1': 5, 'lag.orders-2': NaN },
      }),
      1_000,
    );
    expect(s.connector).toEqual({ recordsRead: 3, bytesRead: 42, 'lag.orders-1': 5 });
    expect(SubtaskMetricsSampleSchema.parse(s).connector).toEqual(s.connector);
  });
});
