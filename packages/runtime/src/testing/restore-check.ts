/**
 * The exact-restore check for operators (test tooling): a pipeline built with
 * the real API runs a script of records, watermarks and processing-time
 * steps; for every cut point it is snapshotted there, the snapshot goes
 * through the codec (as it does to storage), a fresh instance of the same
 * operators is restored from it and runs the rest of the script. What the
 * two halves emitted together must equal what one uninterrupted run emitted
 * — as a multiset: timers of one time fire in registration order, which a
 * restore keeps per key but not across keys (nor does Flink).
 */
import { deepStrictEqual } from 'node:assert/strict';
import type { StreamExecutionEnvironment } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode } from '@freshet/graph';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import { MAX_WATERMARK, type OperatorSnapshot } from '../operator.js';
import { OperatorHarness, type HarnessOptions } from './harness.js';

/** One step of a script: a record (on input 1 or 2, with a timestamp), a watermark, or processing time moving on. */
export type Step = { r: unknown; t?: number } | { r2: unknown; t?: number } | { w: number } | { p: number };

/** The transform nodes of a pipeline (fresh user functions on every call, as every restart re-plans). */
export async function transforms(build: (env: StreamExecutionEnvironment) => void): Promise<StreamNode[]> {
  const graph = await buildStreamGraph((env) => {
    build(env);
  });
  return graph.nodes.filter((n) => n.kind !== 'source' && n.kind !== 'sink');
}

/** Runs the steps of a script. */
export function drive(h: OperatorHarness, steps: readonly Step[]): void {
  for (const s of steps) {
    if ('r' in s) h.processElement(s.r, s.t);
    else if ('r2' in s) h.processElement2(s.r2, s.t);
    else if ('w' in s) h.processWatermark(s.w);
    else h.setProcessingTime(s.p);
  }
}

/** Records and side outputs emitted so far, as comparable strings. */
export function emitted(h: OperatorHarness): string[] {
  const out = h.records().map((r) => JSON.stringify([r.value, r.timestamp]));
  for (const [tag, records] of h.output.side)
    for (const r of records) out.push(`${tag}: ${JSON.stringify([r.value, r.timestamp])}`);
  return out;
}

/** Ends the script: processing time to `endTime`, the final watermark, end of input. */
export function finish(h: OperatorHarness, endTime: number): void {
  h.setProcessingTime(endTime);
  h.processWatermark(MAX_WATERMARK);
  h.endInput();
}

/** Snapshots a chain through the codec, as a task does, and gives the restored snapshots per operator. */
export function checkpoint(
  h: OperatorHarness,
  nodes: readonly StreamNode[],
  checkpointId: number,
): OperatorSnapshot[][] {
  const snapshots = new Map<number, OperatorSnapshot>();
  h.operators.forEach((op, i) => snapshots.set(nodes[i]!.id, op.snapshotState(checkpointId)));
  const decoded = decodeSubtaskSnapshot(encodeSubtaskSnapshot(snapshots));
  return nodes.map((n) => [decoded.get(n.id)!]);
}

/**
 * Runs `steps` uninterrupted and, for every cut point, snapshotted there and
 * restored into fresh operators; both must emit the same.
 * Returns the uninterrupted output (so a test can check it is not trivial).
 */
export async function expectExactRestore(
  build: (env: StreamExecutionEnvironment) => void,
  steps: readonly Step[],
  options: HarnessOptions = {},
): Promise<string[]> {
  const harness = (nodes: StreamNode[], startTime = 0): OperatorHarness =>
    OperatorHarness.chain(nodes, { job: { autoWatermarkIntervalMs: 0 }, ...options, startTime });
  const endTime = 1_000_000;
  const nodes = await transforms(build);
  const whole = harness(nodes).open();
  drive(whole, steps);
  finish(whole, endTime);
  const expected = emitted(whole);
  for (let cut = 0; cut <= steps.length; cut++) {
    const firstNodes = await transforms(build);
    const first = harness(firstNodes).open();
    drive(first, steps.slice(0, cut));
    const restored = checkpoint(first, firstNodes, cut + 1);
    const secondNodes = await transforms(build);
    const second = harness(secondNodes, first.clock.now()).open(restored);
    drive(second, steps.slice(cut));
    finish(second, endTime);
    // node:assert, not vitest: this module is part of the package's testing tooling, not a test file.
    deepStrictEqual(
      [...emitted(first), ...emitted(second)].sort(),
      [...expected].sort(),
      `restored after step ${cut}`,
    );
  }
  return expected;
}
