import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandStream } from './commands.js';
import { LeaderFence } from './fence.js';
import type { ControlPlaneClient } from './control-client.js';

interface FakeSubscription {
  token: string;
  live: boolean;
  observer: { onComplete?: () => void; onStarted?: () => void; onData?: (value: unknown) => void };
}

/** A stand-in for tRPC's subscription client: unsubscribing completes the stream synchronously, as tRPC does. */
function fakeClient(subs: FakeSubscription[]): ControlPlaneClient {
  const commands = {
    subscribe(input: { token: string }, observer: FakeSubscription['observer']) {
      const sub: FakeSubscription = { token: input.token, live: true, observer };
      subs.push(sub);
      queueMicrotask(() => observer.onStarted?.());
      return {
        unsubscribe: () => {
          if (!sub.live) return;
          sub.live = false;
          observer.onComplete?.();
        },
      };
    },
  };
  return { taskManagers: { commands } } as unknown as ControlPlaneClient;
}

describe('CommandStream', () => {
  it('keeps one subscription after registering again (the old stream completing on unsubscribe is no reason to resubscribe)', async () => {
    const subs: FakeSubscription[] = [];
    const stream = new CommandStream({
      client: fakeClient(subs),
      logger: pino({ level: 'silent' }),
      onCommand: () => undefined,
      onSessionRefused: () => undefined,
      initialBackoffMs: 20,
    });
    stream.setSession({
      taskManagerId: 'tm',
      token: 'first',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 4000,
    });
    stream.setSession({
      taskManagerId: 'tm',
      token: 'second',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 4000,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(subs.map((s) => [s.token, s.live])).toEqual([
      ['first', false],
      ['second', true],
    ]);
    stream.stop();
  });

  it('subscribes again when the JobManager ends the stream', async () => {
    const subs: FakeSubscription[] = [];
    const stream = new CommandStream({
      client: fakeClient(subs),
      logger: pino({ level: 'silent' }),
      onCommand: () => undefined,
      onSessionRefused: () => undefined,
      initialBackoffMs: 20,
    });
    stream.setSession({
      taskManagerId: 'tm',
      token: 'only',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 4000,
    });
    subs[0]!.live = false;
    subs[0]!.observer.onComplete?.();
    await new Promise((r) => setTimeout(r, 100));
    expect(subs.map((s) => [s.token, s.live])).toEqual([
      ['only', false],
      ['only', true],
    ]);
    stream.stop();
  });

  it('refuses commands of a deposed JobManager leader (an epoch below the largest seen)', () => {
    const subs: FakeSubscription[] = [];
    const handled: string[] = [];
    const fence = new LeaderFence(pino({ level: 'silent' }));
    const stream = new CommandStream({
      client: fakeClient(subs),
      logger: pino({ level: 'silent' }),
      onCommand: (c) => handled.push(c.type === 'cancel' ? `cancel ${c.attempt}` : c.type),
      onSessionRefused: () => undefined,
      admit: (epoch, what) => fence.admit(epoch, what),
    });
    stream.setSession({
      taskManagerId: 'tm',
      token: 'only',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 4000,
      leaderEpoch: 2,
    });
    const jobId = '00000000-0000-4000-8000-000000000001';
    const send = (id: number, attempt: number, leaderEpoch?: number) =>
      subs[0]!.observer.onData?.({
        id: String(id),
        data: { type: 'cancel', jobId, attempt, ...(leaderEpoch === undefined ? {} : { leaderEpoch }) },
      });
    send(1, 1, 2); // the leader's
    send(2, 2, 1); // a deposed leader's: refused
    send(3, 3, 3); // a newer leader's: followed from now on
    send(4, 4, 2); // the previous leader's, now deposed: refused
    send(5, 5); // no epoch: a JobManager without high availability
    expect(handled).toEqual(['cancel 1', 'cancel 3', 'cancel 5']);
    expect(fence.highest).toBe(3);
    stream.stop();
  });
});
