/**
 * Mailboxes of commands for TaskManagers, drained by their
 * `taskManagers.commands` subscriptions. Commands are numbered per
 * TaskManager session (1, 2, 3, …) and kept until the TaskManager says it
 * handled them — in a heartbeat (`lastCommandId`) or by resubscribing with
 * `lastEventId` — so a command the connection lost on the way is sent
 * again after the reconnect. A command pushed while a TaskManager is
 * between connections waits in its mailbox; when its session ends (lost,
 * deregistered, registered again) the mailbox is dropped and a subscriber
 * still attached is told to register again.
 */
import type { NumberedCommand, TaskManagerCommand } from '@freshet/protocol';
import { ChangeFeed } from '../cluster/changes.js';

interface Mailbox {
  /** Number of the newest command. */
  seq: number;
  /** Commands not yet acknowledged, oldest first. */
  queue: NumberedCommand[];
  feed: ChangeFeed;
  /** Only the newest subscriber drains; an older one (a dead connection) ends. */
  subscriber: number;
  /** Set when the session ended. */
  closed?: string;
}

/** Commands waiting for TaskManagers, per TaskManager session. */
export class CommandHub {
  readonly #boxes = new Map<string, Mailbox>();
  readonly #leaderEpoch: number | undefined;
  #subscribers = 0;

  /** @param leaderEpoch - with high availability, this leader's fencing token: every command carries it */
  constructor(leaderEpoch?: number) {
    this.#leaderEpoch = leaderEpoch;
  }

  /** Ends a TaskManager's session: queued commands are dropped, its subscriber is told to register again. */
  closeSession(taskManagerId: string, reason: string): void {
    const box = this.#boxes.get(taskManagerId);
    if (box === undefined) return;
    this.#boxes.delete(taskManagerId);
    box.closed = reason;
    box.feed.notify();
  }

  /** Queues a command for a TaskManager that holds a session (the caller checked); returns its number. */
  push(taskManagerId: string, command: TaskManagerCommand): number {
    const box = this.#box(taskManagerId);
    const id = ++box.seq;
    box.queue.push(
      this.#leaderEpoch === undefined ? { id, command } : { id, command, leaderEpoch: this.#leaderEpoch },
    );
    box.feed.notify();
    return id;
  }

  /** The TaskManager handled every command up to `lastId`: they need not be sent again. */
  acknowledge(taskManagerId: string, lastId: number): void {
    const box = this.#boxes.get(taskManagerId);
    if (box === undefined) return;
    let n = 0;
    while (n < box.queue.length && box.queue[n]!.id <= lastId) n++;
    if (n > 0) box.queue.splice(0, n);
  }

  /** Commands not yet acknowledged, per TaskManager (for tests and diagnostics). */
  pending(taskManagerId: string): number {
    return this.#boxes.get(taskManagerId)?.queue.length ?? 0;
  }

  /**
   * Yields the commands of a TaskManager's session (the caller checked it
   * holds one) after `lastEventId` (the number of the last command it got),
   * then as they come. Ends with a `reregister` command when the session
   * ends; ends quietly when `signal` aborts or a newer subscriber of the
   * same TaskManager takes over.
   */
  async *drain(
    taskManagerId: string,
    lastEventId: number | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<NumberedCommand | TaskManagerCommand> {
    const box = this.#box(taskManagerId);
    if (lastEventId !== undefined) this.acknowledge(taskManagerId, lastEventId);
    const me = ++this.#subscribers;
    box.subscriber = me;
    box.feed.notify();
    let sent = lastEventId ?? 0;
    let seen = box.feed.version;
    for (;;) {
      if (box.subscriber !== me) return;
      // Looked up afresh after every yield: acknowledgements trim the queue meanwhile.
      for (
        let next = box.queue.find((e) => e.id > sent);
        next !== undefined;
        next = box.queue.find((e) => e.id > sent)
      ) {
        if (box.subscriber !== me) return;
        sent = next.id;
        yield next;
      }
      if (box.closed !== undefined) {
        yield { type: 'reregister', reason: box.closed };
        return;
      }
      if (!(await box.feed.next(seen, signal))) return;
      seen = box.feed.version;
    }
  }

  #box(taskManagerId: string): Mailbox {
    let box = this.#boxes.get(taskManagerId);
    if (box === undefined) {
      box = { seq: 0, queue: [], feed: new ChangeFeed(), subscriber: 0 };
      this.#boxes.set(taskManagerId, box);
    }
    return box;
  }
}
