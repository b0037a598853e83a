import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from '@freshet/errors';
import { WorkQueue } from './work-queue.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('WorkQueue', () => {
  it('runs at most `concurrency` tasks, queues up to `queue`, refuses the rest with Retry-After', async () => {
    const q = new WorkQueue({ what: 'testing', concurrency: 2, queue: 1, settings: '--x' });
    const gates = [gate(), gate(), gate()];
    let active = 0;
    let peak = 0;
    const runs = gates.map((g, i) =>
      q.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await g.promise;
        active--;
        return i;
      }),
    );
    await Promise.resolve();
    expect(q.running).toBe(2);
    expect(q.waiting).toBe(1);
    const refused = await q.run(() => Promise.resolve(99)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect((refused as TooManyRequestsError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refused as Error).message).toMatch(/busy testing \(2 running, 1 waiting\).*--x/);
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(peak).toBe(2);
    expect(q.running).toBe(0);
    expect(q.waiting).toBe(0);
  });

  it('frees its place when a task fails', async () => {
    const q = new WorkQueue({ what: 'testing', concurrency: 1, queue: 0, settings: '--x' });
    await expect(q.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run(() => Promise.resolve('ok'))).toBe('ok');
  });
});
