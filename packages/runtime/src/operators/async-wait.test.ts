// Async I/O on graphs built by the real API, against what Flink documents for AsyncWaitOperator:
// result order, watermarks as barriers (unordered), capacity, timeouts, retries, restore.
import {
  AsyncDataStream,
  AsyncRetryStrategies,
  type AsyncFunction,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { decodeSubtaskSnapshot, encodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import { MAX_WATERMARK } from '../operator.js';
import { restoreRole } from '../checkpoint/savepoint.js';
import { OperatorHarness } from '../testing/harness.js';
import { transforms } from '../testing/restore-check.js';
import { AsyncIoTimeoutError, AsyncWaitOperator } from './async-wait.js';
import { isUserFunctionError } from './errors.js';

/** An async function whose requests the test settles by hand. */
function controlled(): {
  fn: AsyncFunction<number, string>;
  calls: number[];
  resolve(input: number, result?: string): Promise<void>;
  reject(input: number, error: Error): Promise<void>;
} {
  const pending = new Map<number, { ok: (v: string) => void; fail: (e: Error) => void }[]>();
  const calls: number[] = [];
  const settle = async (
    input: number,
    act: (p: { ok: (v: string) => void; fail: (e: Error) => void }) => void,
  ): Promise<void> => {
    const list = pending.get(input);
    const p = list?.shift();
    if (!p) throw new Error(`no request in flight for ${input}`);
    act(p);
    // Let the Promise's callbacks run.
    await new Promise((r) => setImmediate(r));
  };
  return {
    calls,
    fn: (input: number) =>
      new Promise<string>((ok, fail) => {
        calls.push(input);
        let list = pending.get(input);
        if (!list) pending.set(input, (list = []));
        list.push({ ok, fail });
      }),
    resolve: (input, result = `r${input}`) =>
      settle(input, (p) => {
        p.ok(result);
      }),
    reject: (input, error) =>
      settle(input, (p) => {
        p.fail(error);
      }),
  };
}

async function harness(build: (env: StreamExecutionEnvironment) => void): Promise<OperatorHarness> {
  return OperatorHarness.chain(await transforms(build), { job: { autoWatermarkIntervalMs: 0 } });
}

const source = (env: StreamExecutionEnvironment) => env.fromElements(0);

describe('AsyncDataStream.orderedWait', () => {
  it('emits results in input order with the input timestamps, however the requests complete', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 1000).collect('o'))
    ).open();
    h.processElement(1, 10).processElement(2, 20).processElement(3, 30);
    expect(c.calls).toEqual([1, 2, 3]);
    await c.resolve(3);
    await c.resolve(2);
    expect(h.records()).toEqual([]);
    await c.resolve(1);
    expect(h.records()).toEqual([
      { value: 'r1', timestamp: 10 },
      { value: 'r2', timestamp: 20 },
      { value: 'r3', timestamp: 30 },
    ]);
  });

  it('passes a watermark on once every record before it was emitted', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 1000).collect('o'))
    ).open();
    h.processWatermark(5);
    expect(h.watermarks()).toEqual([5]);
    h.processElement(1, 10).processWatermark(15).processElement(2, 20);
    expect(h.watermarks()).toEqual([5]);
    await c.resolve(2);
    expect(h.watermarks()).toEqual([5]);
    await c.resolve(1);
    expect(h.watermarks()).toEqual([5, 15]);
    expect(h.values()).toEqual(['r1', 'r2']);
  });

  it('holds back input at capacity and takes it again when a request completes', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 1000, 2).collect('o'))
    ).open();
    h.processElement(1);
    expect(h.heldBack.size).toBe(0);
    h.processElement(2);
    expect(h.heldBack.size).toBe(1);
    await c.resolve(2);
    expect(h.heldBack.size).toBe(1);
    await c.resolve(1);
    expect(h.heldBack.size).toBe(0);
    const op = h.head;
    if (!(op instanceof AsyncWaitOperator)) throw new Error('not an async operator');
    expect(op.pendingRequests).toBe(0);
  });

  it('never has more than `capacity` requests in flight: the rest of a batch waits, unissued', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 1000, 2).collect('o'))
    ).open();
    for (let i = 1; i <= 5; i++) h.processElement(i);
    expect(c.calls).toEqual([1, 2]);
    expect(h.heldBack.size).toBe(1);
    await c.resolve(1);
    expect(c.calls).toEqual([1, 2, 3]);
    await c.resolve(2);
    await c.resolve(3);
    expect(c.calls).toEqual([1, 2, 3, 4, 5]);
    await c.resolve(5);
    await c.resolve(4);
    expect(h.values()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(h.heldBack.size).toBe(0);
  });

  it('waits at the end of input until every request was emitted, then ends', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 1000).collect('o'))
    ).open();
    h.processElement(1, 1).processElement(2, 2).processWatermark(MAX_WATERMARK);
    let ended = false;
    const end = h.endInputWhenDrained().then(() => {
      ended = true;
    });
    await c.resolve(1);
    expect(ended).toBe(false);
    await c.resolve(2);
    await end;
    expect(h.values()).toEqual(['r1', 'r2']);
    expect(h.watermarks()).toEqual([MAX_WATERMARK]);
  });
});

describe('AsyncDataStream.unorderedWait', () => {
  it('emits results as they complete, but never across a watermark', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.unorderedWait(source(env), c.fn, 1000).collect('o'))
    ).open();
    h.processElement(1).processElement(2).processWatermark(50).processElement(3).processElement(4);
    await c.resolve(2);
    expect(h.values()).toEqual(['r2']);
    await c.resolve(4);
    // 4 is behind the watermark: it waits for 1.
    expect(h.values()).toEqual(['r2']);
    await c.resolve(1);
    expect(h.values()).toEqual(['r2', 'r1', 'r4']);
    expect(h.watermarks()).toEqual([50]);
    await c.resolve(3);
    expect(h.values()).toEqual(['r2', 'r1', 'r4', 'r3']);
  });
});

describe('timeouts and retries', () => {
  it("a request over its timeout gets the function's timeout(input) result", async () => {
    const c = controlled();
    const fn = { asyncInvoke: c.fn as (x: number) => Promise<string>, timeout: (x: number) => `late ${x}` };
    const h = (await harness((env) => AsyncDataStream.orderedWait(source(env), fn, 100).collect('o'))).open();
    h.processElement(1);
    h.setProcessingTime(50).processElement(2);
    h.setProcessingTime(100);
    expect(h.values()).toEqual(['late 1']);
    await c.resolve(2);
    // A result after the timeout is ignored.
    await c.resolve(1, 'too late');
    expect(h.values()).toEqual(['late 1', 'r2']);
  });

  it('without timeout(input), a timeout fails the job with AsyncIoTimeoutError', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 100).collect('o'))
    ).open();
    h.processElement(1);
    h.setProcessingTime(100);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toBeInstanceOf(AsyncIoTimeoutError);
    expect(String(h.failures[0])).toMatch(/no result within 100 ms/);
  });

  it('a failed request fails the job with the user error', async () => {
    const c = controlled();
    const h = (
      await harness((env) => AsyncDataStream.orderedWait(source(env), c.fn, 100).collect('o'))
    ).open();
    h.processElement(1);
    await c.reject(1, new Error('connection refused'));
    expect(isUserFunctionError(h.failures[0])).toBe(true);
    expect(String(h.failures[0])).toMatch(/failed in asyncInvoke: Error: connection refused/);
  });

  it('fixedDelay retries failed requests, and ifResult retries results, within the timeout', async () => {
    const c = controlled();
    const retry = AsyncRetryStrategies.fixedDelay(3, 10).ifResult((r: string) => r === 'empty');
    const h = (
      await harness((env) =>
        AsyncDataStream.orderedWaitWithRetry(source(env), c.fn, 1000, 10, retry).collect('o'),
      )
    ).open();
    h.processElement(1);
    await c.reject(1, new Error('busy'));
    expect(c.calls).toEqual([1]);
    h.setProcessingTime(10);
    expect(c.calls).toEqual([1, 1]);
    await c.resolve(1, 'empty');
    h.setProcessingTime(20);
    expect(c.calls).toEqual([1, 1, 1]);
    await c.resolve(1, 'found');
    expect(h.values()).toEqual(['found']);
    expect(h.failures).toEqual([]);
  });

  it('exponentialBackoff gives up after maxAttempts', async () => {
    const c = controlled();
    const retry = AsyncRetryStrategies.exponentialBackoff({
      maxAttempts: 2,
      initialDelayMs: 5,
      maxDelayMs: 50,
    });
    const h = (
      await harness((env) =>
        AsyncDataStream.unorderedWaitWithRetry(source(env), c.fn, 1000, 10, retry).collect('o'),
      )
    ).open();
    h.processElement(7);
    await c.reject(7, new Error('a'));
    h.setProcessingTime(5);
    expect(c.calls).toEqual([7, 7]);
    await c.reject(7, new Error('b'));
    expect(String(h.failures[0])).toMatch(/Error: b/);
  });
});

describe('checkpoints', () => {
  it('the inputs of requests in flight are issued again after a restore: every result exactly once', async () => {
    const build = (fn: AsyncFunction<number, string>) => (env: StreamExecutionEnvironment) =>
      AsyncDataStream.orderedWait(source(env), fn, 1000).collect('o');
    const a = controlled();
    const first = (await harness(build(a.fn))).open();
    first.processElement(1, 1).processElement(2, 2).processElement(3, 3);
    await a.resolve(1);
    await a.resolve(3);
    // 1 was emitted; 2 is in flight; 3 settled but waits for 2.
    expect(first.values()).toEqual(['r1']);
    const node = first.nodes[0]!;
    const restored = [
      decodeSubtaskSnapshot(encodeSubtaskSnapshot(new Map([[node.id, first.snapshot(1)]]))).get(node.id)!,
    ];
    first.close();
    const b = controlled();
    const second = (await harness(build(b.fn))).open(restored);
    expect(b.calls).toEqual([2, 3]);
    second.processElement(4, 4);
    await b.resolve(3);
    await b.resolve(2);
    await b.resolve(4);
    expect([...first.records(), ...second.records()]).toEqual([
      { value: 'r1', timestamp: 1 },
      { value: 'r2', timestamp: 2 },
      { value: 'r3', timestamp: 3 },
      { value: 'r4', timestamp: 4 },
    ]);
  });

  it("restored at another parallelism, each former subtask's inputs are issued once, by their owner", async () => {
    const a = controlled();
    const build = (fn: AsyncFunction<number, string>) => (env: StreamExecutionEnvironment) =>
      AsyncDataStream.unorderedWait(source(env), fn, 1000).collect('o');
    const snaps = [];
    for (let s = 0; s < 2; s++) {
      const h = OperatorHarness.chain(await transforms(build(a.fn)), {
        parallelism: 2,
        subtaskIndex: s,
      }).open();
      for (let i = 0; i < 5; i++) h.processElement(s * 10 + i);
      snaps.push(h.snapshot(1));
    }
    // As a rescale assigns them: every former subtask whose key groups overlap, marked a copy
    // unless this subtask owns it.
    const issued: number[] = [];
    for (let s = 0; s < 3; s++) {
      const restored = [];
      for (let o = 0; o < 2; o++) {
        const role = restoreRole(
          { parallelism: 2, maxParallelism: 128 },
          o,
          { parallelism: 3, maxParallelism: 128 },
          s,
        );
        if (role !== 'none')
          restored.push(role === 'owner' ? snaps[o]! : { ...snaps[o]!, copy: true as const });
      }
      const b = controlled();
      OperatorHarness.chain(await transforms(build(b.fn)), { parallelism: 3, subtaskIndex: s }).open(
        restored,
      );
      issued.push(...b.calls);
    }
    expect(issued.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
  });
});

describe('the API', () => {
  it('refuses what is not an async function, and timeouts and capacities that are not positive', async () => {
    await expect(
      transforms((env) => AsyncDataStream.orderedWait(source(env), 5 as never, 100).collect('o')),
    ).rejects.toThrow(/expects an async function/);
    await expect(
      transforms((env) =>
        AsyncDataStream.unorderedWait(source(env), (x: number) => Promise.resolve(x), 0).collect('o'),
      ),
    ).rejects.toThrow(/timeout expects a duration in milliseconds > 0/);
    await expect(
      transforms((env) =>
        AsyncDataStream.orderedWait(source(env), (x: number) => Promise.resolve(x), 10, 0).collect('o'),
      ),
    ).rejects.toThrow(/capacity expects a positive integer/);
  });
});
