/**
 * Barrier alignment of one subtask (Flink's CheckpointBarrierHandler). When
 * the barrier of checkpoint N arrives on an input channel, that channel is
 * blocked — records behind the barrier belong to the next checkpoint — until
 * the barrier of N has arrived on every channel that is still open; then the
 * checkpoint is aligned (the task snapshots its operators and forwards the
 * barrier) and every channel is unblocked. The time from the first barrier
 * to the last is the alignment time the task reports.
 *
 * In AT_LEAST_ONCE mode channels are not blocked: the checkpoint is taken
 * when the last barrier arrives, so records that came behind an early
 * barrier are in the snapshot and are replayed after a restore (Flink's
 * `CheckpointBarrierTracker`).
 *
 * A channel that reached its end of partition counts as arrived, for the
 * checkpoint being aligned and for every later one. The barrier of a newer
 * checkpoint abandons one still aligning (the task declines it), and so do
 * the coordinator's abort of that checkpoint and the cancellation of the
 * task. Barriers of older checkpoints, and a second barrier on a channel, are
 * ignored.
 */
import type { CheckpointingMode } from '@freshet/graph';

/** What the handler asks of its task. */
export interface BarrierHandlerTarget {
  /** Stop delivering the events of input channel `channel` (its barrier arrived first). */
  blockChannel(channel: number): void;
  /** Deliver the events of every input channel again. */
  unblockAllChannels(): void;
  /**
   * Checkpoint `checkpointId` is aligned: snapshot the operators and forward
   * the barrier downstream. `alignmentMs`: first barrier to last.
   */
  checkpointAligned(checkpointId: number, timestamp: number, alignmentMs: number): void;
  /** Checkpoint `checkpointId` was abandoned while aligning (a newer barrier arrived, or the task was cancelled). */
  checkpointAborted?(checkpointId: number, reason: string): void;
}

/** Options of a {@link CheckpointBarrierHandler}. */
export interface BarrierHandlerOptions {
  /** @default 'EXACTLY_ONCE' */
  mode?: CheckpointingMode;
  /** Monotonic clock in ms, for the alignment time. @default performance.now */
  now?: () => number;
}

/** Aligns the checkpoint barriers of a subtask's input channels. */
export class CheckpointBarrierHandler {
  private aligning = false;
  private pendingCheckpoint = -1;
  private pendingTimestamp = 0;
  private alignmentStart = 0;
  private readonly arrived: Uint8Array;
  private readonly ended: Uint8Array;
  private arrivedCount = 0;
  private endedCount = 0;
  private readonly blocking: boolean;
  private readonly now: () => number;

  constructor(
    /** Number of input channels (of both inputs). */
    private readonly channels: number,
    private readonly target: BarrierHandlerTarget,
    options: BarrierHandlerOptions = {},
  ) {
    this.arrived = new Uint8Array(channels);
    this.ended = new Uint8Array(channels);
    this.blocking = (options.mode ?? 'EXACTLY_ONCE') === 'EXACTLY_ONCE';
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether a checkpoint is waiting for barriers. */
  get isAligning(): boolean {
    return this.aligning;
  }

  /** The newest checkpoint whose barrier arrived, -1 before the first. */
  get latestCheckpointId(): number {
    return this.pendingCheckpoint;
  }

  /** The barrier of `checkpointId` arrived on `channel`. */
  onBarrier(channel: number, checkpointId: number, timestamp: number): void {
    if (checkpointId > this.pendingCheckpoint) {
      if (this.aligning) this.abandon(`the barrier of checkpoint ${checkpointId} arrived while aligning`);
      this.pendingCheckpoint = checkpointId;
      this.pendingTimestamp = timestamp;
      this.arrived.fill(0);
      this.arrivedCount = 0;
      this.aligning = true;
      this.alignmentStart = this.now();
    } else if (checkpointId < this.pendingCheckpoint || !this.aligning) {
      return;
    }
    if (this.arrived[channel] === 1 || this.ended[channel] === 1) return;
    this.arrived[channel] = 1;
    this.arrivedCount++;
    if (this.blocking) this.target.blockChannel(channel);
    this.maybeAligned();
  }

  /** `channel` reached its end of partition: no barrier will come from it again. */
  onEndOfPartition(channel: number): void {
    if (this.ended[channel] === 1) return;
    this.ended[channel] = 1;
    this.endedCount++;
    // A channel whose barrier already arrived is counted once (it can end behind its barrier when not blocked).
    if (this.arrived[channel] === 1) {
      this.arrived[channel] = 0;
      this.arrivedCount--;
    }
    if (this.aligning) this.maybeAligned();
  }

  /** The coordinator aborted `checkpointId`: stop aligning it (the task need not decline it). */
  abortCheckpoint(checkpointId: number): void {
    if (this.aligning && this.pendingCheckpoint === checkpointId) this.reset();
  }

  /** The task is cancelled: a checkpoint still aligning is abandoned and declined. */
  cancel(): void {
    if (this.aligning) this.abandon('the task was cancelled');
  }

  private abandon(reason: string): void {
    const id = this.pendingCheckpoint;
    this.reset();
    this.target.checkpointAborted?.(id, reason);
  }

  private reset(): void {
    this.aligning = false;
    this.arrived.fill(0);
    this.arrivedCount = 0;
    if (this.blocking) this.target.unblockAllChannels();
  }

  private maybeAligned(): void {
    if (this.arrivedCount + this.endedCount < this.channels) return;
    this.aligning = false;
    this.target.checkpointAligned(
      this.pendingCheckpoint,
      this.pendingTimestamp,
      this.now() - this.alignmentStart,
    );
    if (this.blocking) this.target.unblockAllChannels();
  }
}
