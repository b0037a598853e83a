/**
 * A checkpoint's snapshot packed after its barrier (asynchronous heap
 * snapshots, see `state/snapshot-guard.ts`): at the barrier the task takes
 * the operators' snapshots — each key group's keys and references to the
 * stored values — and from then on packs one key group after another in
 * short steps between its processing slices. The state parts copy a value
 * before they change it while {@link DeferredSnapshot.active}, so what is
 * packed is the state of the barrier.
 */
import { encodeSubtaskSnapshot, unencodableState } from '../checkpoint/snapshot-codec.js';
import type { OperatorSnapshot } from '../operator.js';
import type { KeyGroupSnapshot } from '../state/backend.js';
import { encodeKeyGroup } from '../state/disk-store.js';
import type { SnapshotGuard } from '../state/snapshot-guard.js';

/** What the task reports with the snapshot once it is packed. */
export interface DeferredSnapshotInfo {
  checkpointId: number;
  pieces: number[];
  alignmentMs: number;
  /** The part at the barrier. */
  syncMs: number;
}

export class DeferredSnapshot implements SnapshotGuard {
  active = true;
  /** Time spent packing so far. */
  encodeMs = 0;
  /** The key groups still held as objects: their snapshot's `keyed`, and the key group. */
  private readonly groups: Record<number, unknown>[] = [];
  private readonly groupIds: number[] = [];
  private next = 0;

  constructor(
    private readonly snapshots: Map<number, OperatorSnapshot>,
    readonly info: DeferredSnapshotInfo,
    /** Called by {@link finishNow}: the task packs and reports the snapshot at once. */
    private readonly onFinishNow: () => void,
  ) {
    for (const snapshot of snapshots.values()) {
      const keyed = snapshot.keyed;
      if (keyed === undefined) continue;
      for (const kg in keyed) {
        const data = keyed[kg];
        // Heap objects; buffers, piece references and the disk backend's tuples (heap timers: copies) stay.
        if (
          typeof data === 'object' &&
          data !== null &&
          !Array.isArray(data) &&
          !(data instanceof Uint8Array)
        ) {
          this.groups.push(keyed);
          this.groupIds.push(Number(kg));
        }
      }
    }
  }

  /** Key groups left to pack. */
  get remaining(): number {
    return this.groups.length - this.next;
  }

  /** Packs key groups for about `budgetMs`; true once all are packed. */
  step(budgetMs: number): boolean {
    const t0 = performance.now();
    const deadline = t0 + budgetMs;
    const groups = this.groups;
    const ids = this.groupIds;
    let i = this.next;
    try {
      while (i < groups.length) {
        const keyed = groups[i]!;
        const kg = ids[i]!;
        // Columns or pairs, as the backend wrote them: `decodeKeyGroup` reads either from the buffer.
        try {
          keyed[kg] = encodeKeyGroup(keyed[kg] as KeyGroupSnapshot);
        } catch (error) {
          throw unencodableState(error, `the state of key group ${kg}`);
        }
        i++;
        if (performance.now() >= deadline) break;
      }
    } finally {
      this.next = i;
      this.encodeMs += performance.now() - t0;
    }
    return i >= groups.length;
  }

  /**
   * Packs what is left and the whole snapshot; releases the guard.
   *
   * @throws {@link SnapshotCodecError} when the state holds something msgpack cannot write
   */
  finish(): Uint8Array {
    try {
      while (!this.step(Number.POSITIVE_INFINITY));
      const t0 = performance.now();
      const state = encodeSubtaskSnapshot(this.snapshots);
      this.encodeMs += performance.now() - t0;
      return state;
    } finally {
      this.active = false;
    }
  }

  /** Drops the snapshot (the task failed or was canceled). */
  release(): void {
    this.active = false;
  }

  finishNow(): void {
    if (this.active) this.onFinishNow();
  }
}
