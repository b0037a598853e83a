/**
 * Barrier alignment of one subtask (Flink's CheckpointBarrierHandler for
 * aligned checkpoints). When the barrier of checkpoint N arrives on an input
 * channel, that channel is blocked — records behind the barrier belong to the
 * next checkpoint — until the barrier of N has arrived on every channel that
 * is still open; then the checkpoint is aligned (the task snapshots its
 * operators and forwards the barrier) and every channel is unblocked.
 *
 * A channel that reached its end of partition counts as arrived, for the
 * checkpoint being aligned and for every later one. The barrier of a newer
 * checkpoint aborts one still aligning. Barriers of older checkpoints, and a
 * second barrier on a channel, are ignored.
 */

/** What the handler asks of its task. */
export interface BarrierHandlerTarget {
  /** Stop delivering the events of input channel `channel` (its barrier arrived first). */
  blockChannel(channel: number): void;
  /** Deliver the events of every input channel again. */
  unblockAllChannels(): void;
  /** Checkpoint `checkpointId` is aligned: snapshot the operators and forward the barrier downstream. */
  checkpointAligned(checkpointId: number, timestamp: number): void;
  /** Checkpoint `checkpointId` was abandoned while aligning (a newer checkpoint's barrier arrived). */
  checkpointAborted?(checkpointId: number): void;
}

/** Aligns the checkpoint barriers of a subtask's input channels. */
export class CheckpointBarrierHandler {
  private aligning = false;
  private pendingCheckpoint = -1;
  private pendingTimestamp = 0;
  private readonly arrived: Uint8Array;
  private arrivedCount = 0;
  private endedCount = 0;

  constructor(
    /** Number of input channels (of both inputs). */
    private readonly channels: number,
    private readonly target: BarrierHandlerTarget,
  ) {
    this.arrived = new Uint8Array(channels);
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
      if (this.aligning) {
        this.target.unblockAllChannels();
        this.target.checkpointAborted?.(this.pendingCheckpoint);
      }
      this.pendingCheckpoint = checkpointId;
      this.pendingTimestamp = timestamp;
      this.arrived.fill(0);
      this.arrivedCount = 0;
      this.aligning = true;
    } else if (checkpointId < this.pendingCheckpoint || !this.aligning) {
      return;
    }
    if (this.arrived[channel] === 1) return;
    this.arrived[channel] = 1;
    this.arrivedCount++;
    this.target.blockChannel(channel);
    this.maybeAligned();
  }

  /** `channel` reached its end of partition: no barrier will come from it again. */
  onEndOfPartition(_channel: number): void {
    this.endedCount++;
    if (this.aligning) this.maybeAligned();
  }

  private maybeAligned(): void {
    if (this.arrivedCount + this.endedCount < this.channels) return;
    this.aligning = false;
    this.target.checkpointAligned(this.pendingCheckpoint, this.pendingTimestamp);
    this.target.unblockAllChannels();
  }
}
