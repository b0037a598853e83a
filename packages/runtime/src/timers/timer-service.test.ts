import type { Key } from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { keyGroupRange } from '../keygroups.js';
import { HeapKeyedStateBackend } from '../state/backend.js';
import { ManualProcessingTimeService } from '../testing/harness.js';
import { InternalTimerService, type Timer } from './timer-service.js';

type Fired = [domain: 'event' | 'proc', key: Key, ns: number, time: number];

function service(opts: { parallelism?: number; subtask?: number } = {}) {
  const backend = new HeapKeyedStateBackend({
    operatorName: 'op',
    maxParallelism: 16,
    keyGroupRange: keyGroupRange(16, opts.parallelism ?? 1, opts.subtask ?? 0),
    now: () => 0,
  });
  const clock = new ManualProcessingTimeService(0);
  const fired: Fired[] = [];
  const timers = new InternalTimerService(backend, clock, {
    onEventTime: (t: Timer) => fired.push(['event', t.key, t.ns, t.time]),
    onProcessingTime: (t: Timer) => fired.push(['proc', t.key, t.ns, t.time]),
  });
  const at = (key: Key) => {
    backend.setCurrentKey(key);
    return timers;
  };
  return { backend, clock, fired, timers, at };
}

describe('internal timer service', () => {
  it('keeps one timer per key, namespace and time', () => {
    const { timers, at, fired } = service();
    at('a').registerEventTimeTimer(0, 10);
    at('a').registerEventTimeTimer(0, 10);
    at('a').registerEventTimeTimer(1, 10);
    at('b').registerEventTimeTimer(0, 10);
    at(7).registerEventTimeTimer(0, 10);
    at('7').registerEventTimeTimer(0, 10);
    at(1.5).registerEventTimeTimer(0, 1.7e12 + 0.25);
    at(1.5).registerEventTimeTimer(0, 1.7e12 + 0.25);
    at('a').registerEventTimeTimer(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    at('a').registerEventTimeTimer(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    expect(timers.numEventTimeTimers()).toBe(7);
    timers.advanceWatermark(10);
    expect(fired.map((f) => JSON.stringify([f[1], f[2]])).sort()).toEqual(
      ['["7",0]', '["a",0]', '["a",1]', '["b",0]', '[7,0]'].sort(),
    );
    expect(timers.numEventTimeTimers()).toBe(2);
    // A fired timer may be registered again.
    at('a').registerEventTimeTimer(0, 10);
    expect(timers.numEventTimeTimers()).toBe(3);
    timers.advanceWatermark(Number.POSITIVE_INFINITY);
    expect(fired.slice(5)).toEqual([
      ['event', 'a', 0, 10],
      ['event', 1.5, 0, 1.7e12 + 0.25],
      ['event', 'a', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    ]);
    expect(timers.numEventTimeTimers()).toBe(0);
  });

  it('fires in time order and skips deleted timers, also among many that share a bucket chain', () => {
    const { timers, at, fired } = service();
    for (let k = 0; k < 200; k++) for (let t = 0; t < 5; t++) at(k).registerEventTimeTimer(t, 100 - t);
    for (let k = 0; k < 200; k += 2) at(k).deleteEventTimeTimer(3, 97);
    at(1).deleteEventTimeTimer(3, 96); // not registered: no effect
    expect(timers.numEventTimeTimers()).toBe(900);
    timers.advanceWatermark(97);
    expect(fired.length).toBe(100 + 200);
    expect(fired.every((f, i) => i === 0 || fired[i - 1]![3] <= f[3])).toBe(true);
    expect(fired.filter((f) => f[3] === 97).map((f) => f[1])).toEqual(
      Array.from({ length: 100 }, (_, i) => 2 * i + 1).sort((a, b) => a - b),
    );
    timers.advanceWatermark(100);
    expect(fired.length).toBe(900);
    expect(timers.numEventTimeTimers()).toBe(0);
  });

  it('a deleted timer can be registered again and fires once', () => {
    const { timers, at, fired } = service();
    at('a').registerEventTimeTimer(0, 5);
    at('a').deleteEventTimeTimer(0, 5);
    at('a').registerEventTimeTimer(0, 5);
    timers.advanceWatermark(5);
    expect(fired).toEqual([['event', 'a', 0, 5]]);
  });

  it('processing-time timers fire when the clock passes them', () => {
    const { timers, at, fired, clock } = service();
    at('a').registerProcessingTimeTimer(0, 20);
    at('b').registerProcessingTimeTimer(0, 10);
    at('b').registerProcessingTimeTimer(0, 10);
    expect(timers.numProcessingTimeTimers()).toBe(2);
    clock.advanceTo(15);
    expect(fired).toEqual([['proc', 'b', 0, 10]]);
    clock.advanceTo(20);
    expect(fired).toEqual([
      ['proc', 'b', 0, 10],
      ['proc', 'a', 0, 20],
    ]);
    expect(timers.numProcessingTimeTimers()).toBe(0);
  });

  it('snapshots timers per key and restores them by key group', () => {
    const { backend, at } = service();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 1, 2, 3];
    for (const k of keys) {
      at(k).registerEventTimeTimer(0, 10);
      at(k).registerEventTimeTimer(5, 12);
      at(k).registerProcessingTimeTimer(0, 30);
    }
    at('a').deleteEventTimeTimer(5, 12);
    const snap = { keyed: backend.snapshot() };
    const restored = [0, 1].map((i) => {
      const s = service({ parallelism: 2, subtask: i });
      s.backend.restore([snap]);
      return s;
    });
    expect(restored.map((s) => s.timers.numEventTimeTimers()).reduce((a, b) => a + b)).toBe(
      2 * keys.length - 1,
    );
    expect(restored.map((s) => s.timers.numProcessingTimeTimers()).reduce((a, b) => a + b)).toBe(keys.length);
    const fired: Fired[] = [];
    for (const s of restored) {
      s.timers.advanceWatermark(Number.POSITIVE_INFINITY);
      s.clock.advanceTo(30);
      fired.push(...s.fired);
    }
    const expected: Fired[] = keys.flatMap((k): Fired[] => [
      ['event', k, 0, 10],
      ...(k === 'a' ? [] : ([['event', k, 5, 12]] as Fired[])),
      ['proc', k, 0, 30],
    ]);
    const order = (f: Fired) => JSON.stringify(f);
    expect(fired.map(order).sort()).toEqual(expected.map(order).sort());
  });
});
