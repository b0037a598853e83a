import { describe, expect, it } from 'vitest';
import type { NumberedCommand, TaskManagerCommand } from '@freshet/protocol';
import { CommandHub } from './commands.js';

const cancel = (attempt: number): TaskManagerCommand => ({ type: 'cancel', jobId: 'j', attempt });

/** Takes `n` items of a drain, then stops it (as a dropped connection would). */
async function take(
  stream: AsyncGenerator<NumberedCommand | TaskManagerCommand>,
  n: number,
): Promise<(NumberedCommand | TaskManagerCommand)[]> {
  const out: (NumberedCommand | TaskManagerCommand)[] = [];
  for await (const c of stream) {
    out.push(c);
    if (out.length === n) break;
  }
  return out;
}

describe('CommandHub', () => {
  it('numbers commands per session and sends everything after lastEventId again on a reconnect', async () => {
    const hub = new CommandHub();
    expect(hub.push('tm', cancel(1))).toBe(1);
    expect(hub.push('tm', cancel(2))).toBe(2);
    hub.push('tm', cancel(3));
    const first = await take(hub.drain('tm', undefined, undefined), 3);
    expect(first.map((c) => ('id' in c ? c.id : 0))).toEqual([1, 2, 3]);
    // The connection dropped after the TaskManager had handled command 1 only.
    const again = await take(hub.drain('tm', 1, undefined), 2);
    expect(again).toEqual([
      { id: 2, command: cancel(2) },
      { id: 3, command: cancel(3) },
    ]);
    // A heartbeat acknowledges up to 3: nothing is re-sent, new commands continue the numbering.
    hub.acknowledge('tm', 3);
    expect(hub.pending('tm')).toBe(0);
    hub.push('tm', cancel(4));
    expect(await take(hub.drain('tm', undefined, undefined), 1)).toEqual([{ id: 4, command: cancel(4) }]);
  });

  it('drops the mailbox when the session ends and tells a subscriber to register again', async () => {
    const hub = new CommandHub();
    hub.push('tm', cancel(1));
    const stream = hub.drain('tm', 1, undefined);
    const next = stream.next();
    hub.closeSession('tm', 'lost');
    expect((await next).value).toEqual({ type: 'reregister', reason: 'lost' });
    // A new session numbers from 1 again.
    expect(hub.push('tm', cancel(2))).toBe(1);
  });

  it('lets only the newest subscriber of a TaskManager drain', async () => {
    const hub = new CommandHub();
    const old = hub.drain('tm', undefined, undefined);
    const oldNext = old.next();
    const fresh = hub.drain('tm', undefined, undefined);
    const freshNext = fresh.next();
    hub.push('tm', cancel(7));
    expect((await freshNext).value).toEqual({ id: 1, command: cancel(7) });
    expect((await oldNext).done).toBe(true);
  });
});
