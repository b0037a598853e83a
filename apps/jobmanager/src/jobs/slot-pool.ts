/**
 * The JobManager's book of task slots (Flink's `SlotPool`): which slot of
 * which TaskManager a job holds, and which slots hold *orphans* — tasks a
 * TaskManager reports running that belong to no current attempt (left by a
 * previous JobManager, or by an attempt that was restarted elsewhere). An
 * orphan's slot counts as used until the TaskManager reports it free, so no
 * job is ever placed onto a slot a stale task still occupies.
 *
 * Pure bookkeeping: no I/O, no timers.
 */
import type { SchedulableTaskManager } from '../cluster/registry.js';

/** Who holds a slot. */
export type SlotOwner = { job: string } | { orphan: true };

/** One allocated slot. */
export interface AllocatedSlot {
  taskManager: SchedulableTaskManager;
  slotIndex: number;
}

/** Slot accounting over the live TaskManagers. */
export class SlotPool {
  /** TaskManager id -> its slots, each with its owner or null. */
  readonly #slots = new Map<string, (SlotOwner | null)[]>();

  /** Makes room for every schedulable TaskManager (a TaskManager that registered with other slots is resized). */
  #sync(taskManagers: readonly SchedulableTaskManager[]): void {
    for (const tm of taskManagers) {
      const slots = this.#slots.get(tm.id);
      if (slots === undefined || slots.length !== tm.slots) {
        const kept = slots ?? [];
        this.#slots.set(
          tm.id,
          Array.from({ length: tm.slots }, (_, i) => kept[i] ?? null),
        );
      }
    }
  }

  /** Free slots per schedulable TaskManager. */
  free(taskManagers: readonly SchedulableTaskManager[]): { tm: SchedulableTaskManager; free: number[] }[] {
    this.#sync(taskManagers);
    return taskManagers.map((tm) => {
      const free: number[] = [];
      this.#slots.get(tm.id)!.forEach((owner, i) => {
        if (owner === null) free.push(i);
      });
      return { tm, free };
    });
  }

  /** `2 free (2 TaskManagers, 4 slots in total)`, for messages. */
  describe(taskManagers: readonly SchedulableTaskManager[]): string {
    const pools = this.free(taskManagers);
    const free = pools.reduce((n, p) => n + p.free.length, 0);
    const total = pools.reduce((n, p) => n + p.tm.slots, 0);
    return `${free} free (${pools.length} TaskManager${pools.length === 1 ? '' : 's'}, ${total} slot${total === 1 ? '' : 's'} in total)`;
  }

  /**
   * Takes `count` free slots for `jobId`, spread round-robin over the
   * TaskManagers (global slot i goes to the next TaskManager with a free
   * slot); undefined (nothing taken) when there are not enough.
   */
  allocate(
    jobId: string,
    count: number,
    taskManagers: readonly SchedulableTaskManager[],
  ): AllocatedSlot[] | undefined {
    const pools = this.free(taskManagers);
    if (pools.reduce((n, p) => n + p.free.length, 0) < count) return undefined;
    const out: AllocatedSlot[] = [];
    for (let cursor = 0; out.length < count; cursor++) {
      const pool = pools[cursor % pools.length]!;
      const slot = pool.free.shift();
      if (slot !== undefined) out.push({ taskManager: pool.tm, slotIndex: slot });
    }
    for (const a of out) this.#slots.get(a.taskManager.id)![a.slotIndex] = { job: jobId };
    return out;
  }

  /** Gives slot `slotIndex` of `taskManagerId` back (if `jobId` holds it). */
  release(jobId: string, taskManagerId: string, slotIndex: number): boolean {
    const slots = this.#slots.get(taskManagerId);
    const owner = slots?.[slotIndex];
    if (owner === undefined || owner === null || !('job' in owner) || owner.job !== jobId) return false;
    slots![slotIndex] = null;
    return true;
  }

  /** Gives back every slot `jobId` holds. */
  releaseJob(jobId: string): boolean {
    let freed = false;
    for (const slots of this.#slots.values()) {
      for (let i = 0; i < slots.length; i++) {
        const owner = slots[i];
        if (owner !== null && owner !== undefined && 'job' in owner && owner.job === jobId) {
          slots[i] = null;
          freed = true;
        }
      }
    }
    return freed;
  }

  /** Whether `jobId` holds slot `slotIndex` of `taskManagerId`. */
  holds(jobId: string, taskManagerId: string, slotIndex: number): boolean {
    const owner = this.#slots.get(taskManagerId)?.[slotIndex];
    return owner !== undefined && owner !== null && 'job' in owner && owner.job === jobId;
  }

  /**
   * A TaskManager's session ended: the jobs' slots on it are gone. With
   * `keepOrphans` (it has registered again meanwhile, reporting stale tasks
   * that still run) the orphans stay until it reports them gone.
   */
  dropTaskManager(taskManagerId: string, keepOrphans = false): void {
    const slots = this.#slots.get(taskManagerId);
    if (slots === undefined) return;
    if (!keepOrphans) {
      this.#slots.delete(taskManagerId);
      return;
    }
    for (let i = 0; i < slots.length; i++) {
      const owner = slots[i];
      if (owner !== null && owner !== undefined && 'job' in owner) slots[i] = null;
    }
  }

  /**
   * Takes a TaskManager's report of the slots its stale tasks (no current
   * attempt) occupy: those not held by a job become orphans, and orphans no
   * longer reported are free again. Returns whether anything changed.
   */
  reconcileOrphans(taskManager: SchedulableTaskManager, orphanSlots: ReadonlySet<number>): boolean {
    this.#sync([taskManager]);
    const slots = this.#slots.get(taskManager.id)!;
    let changed = false;
    for (let i = 0; i < slots.length; i++) {
      const owner = slots[i] ?? null;
      if (owner === null && orphanSlots.has(i)) {
        slots[i] = { orphan: true };
        changed = true;
      } else if (owner !== null && 'orphan' in owner && !orphanSlots.has(i)) {
        slots[i] = null;
        changed = true;
      }
    }
    return changed;
  }

  /** Slots in use on a TaskManager (by jobs or orphans). */
  used(taskManagerId: string): number {
    return this.#slots.get(taskManagerId)?.filter((s) => s !== null).length ?? 0;
  }

  /** Slots of a TaskManager held by orphans (for tests and diagnostics). */
  orphans(taskManagerId: string): number[] {
    const out: number[] = [];
    this.#slots.get(taskManagerId)?.forEach((s, i) => {
      if (s !== null && 'orphan' in s) out.push(i);
    });
    return out;
  }
}
