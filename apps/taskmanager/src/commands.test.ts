import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandStream } from './commands.js';
import type { ControlPlaneClient } from './control-client.js';

interface FakeSubscription {
  token: string;
  live: boolean;
  observer: { onComplete?: () => void; onStarted?: () => void };
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
});
