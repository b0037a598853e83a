import { describe, expect, it } from 'vitest';
import { makeNode, OperatorHarness } from '../testing/index.js';
import { createSinkOperator } from './sinks.js';

describe('the collect sink', () => {
  it('ships a slow stream’s records soon after the first, not only after thousands', () => {
    const shipped: unknown[][] = [];
    const node = makeNode(2, 'sink', 'out', { spec: { sink: { type: 'collect', id: 'out' } } });
    const harness = new OperatorHarness([node], { startTime: 1000 }, [
      createSinkOperator(node, { collect: (_id, values) => shipped.push(values) }),
    ]).open();
    harness.processElement(1).processElement(2);
    expect(shipped).toEqual([]);
    harness.clock.advanceTo(1199);
    expect(shipped).toEqual([]);
    harness.clock.advanceTo(1200);
    expect(shipped).toEqual([[1, 2]]);
    harness.processElement(3);
    harness.clock.advanceTo(1400);
    expect(shipped).toEqual([[1, 2], [3]]);
    // Closing ships the rest and leaves no timer behind.
    harness.processElement(4);
    harness.head.close();
    expect(shipped).toEqual([[1, 2], [3], [4]]);
    expect(harness.clock.numScheduled()).toBe(0);
  });
});

describe('the collect sink of a BATCH job that re-runs failed regions from scratch (commitAtEnd)', () => {
  const node = makeNode(2, 'sink', 'out', { spec: { sink: { type: 'collect', id: 'out' } } });
  const open = (shipped: unknown[][]) =>
    new OperatorHarness([node], { startTime: 1000 }, [
      createSinkOperator(node, { collect: (_id, values) => shipped.push(values), commitAtEnd: true }),
    ]).open();

  it('ships its records only when its input ended', () => {
    const shipped: unknown[][] = [];
    const harness = open(shipped);
    for (let i = 0; i < 5000; i++) harness.processElement(i);
    harness.clock.advanceTo(5000);
    harness.processWatermark(Number.POSITIVE_INFINITY);
    expect(shipped).toEqual([]);
    harness.head.endInput();
    expect(shipped.flat()).toHaveLength(5000);
    harness.head.close();
    expect(shipped.flat()).toHaveLength(5000);
  });

  it('ships nothing when closed before its input ended (a failed or cancelled attempt)', () => {
    const shipped: unknown[][] = [];
    const harness = open(shipped);
    harness.processElement(1).processElement(2);
    harness.clock.advanceTo(2000);
    harness.head.close();
    expect(shipped).toEqual([]);
  });
});
