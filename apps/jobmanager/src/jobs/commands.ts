/**
 * Mailboxes of commands for TaskManagers, drained by their
 * `taskManagers.commands` subscriptions. A command pushed while a
 * TaskManager is between connections waits in its mailbox; when its session
 * ends (lost, deregistered, registered again) the mailbox is dropped and a
 * subscriber still attached is told to register again.
 */
import type { TaskManagerCommand } from '@freshet/protocol';
import { ChangeFeed } from '../cluster/changes.js';

interface Mailbox {
  queue: TaskManagerCommand[];
  feed: ChangeFeed;
  /** Only the newest subscriber drains; an older one (a dead connection) ends. */
  subscriber: number;
  /** Set when the session ended. */
  closed?: string;
}

/** Commands waiting for TaskManagers, per TaskManager session. */
export class CommandHub {
  readonly #boxes = new Map<string, Mailbox>();
  #subscribers = 0;

  /** Ends a TaskManager's session: queued commands are dropped, its subscriber is told to register again. */
  closeSession(taskManagerId: string, reason: string): void {
    const box = this.#boxes.get(taskManagerId);
    if (box === undefined) return;
    this.#boxes.delete(taskManagerId);
    box.closed = reason;
    box.feed.notify();
  }

  /** Queues a command for a TaskManager that holds a session (the caller checked). */
  push(taskManagerId: string, command: TaskManagerCommand): void {
    const box = this.#box(taskManagerId);
    box.queue.push(command);
    box.feed.notify();
  }

  /** Commands queued and not yet delivered, per TaskManager (for tests and diagnostics). */
  pending(taskManagerId: string): number {
    return this.#boxes.get(taskManagerId)?.queue.length ?? 0;
  }

  /**
   * Yields the commands of a TaskManager's session (the caller checked it
   * holds one) as they come. Ends with a `reregister` command when the
   * session ends; ends quietly when `signal` aborts or a newer subscriber
   * of the same TaskManager takes over.
   */
  async *drain(taskManagerId: string, signal: AbortSignal | undefined): AsyncGenerator<TaskManagerCommand> {
    const box = this.#box(taskManagerId);
    const me = ++this.#subscribers;
    box.subscriber = me;
    box.feed.notify();
    let seen = box.feed.version;
    for (;;) {
      if (box.subscriber !== me) return;
      while (box.queue.length > 0 && box.subscriber === me) yield box.queue.shift()!;
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
      box = { queue: [], feed: new ChangeFeed(), subscriber: 0 };
      this.#boxes.set(taskManagerId, box);
    }
    return box;
  }
}
