import { describe, expect, it } from 'vitest';
import { CheckpointBarrierHandler, type BarrierHandlerTarget } from './checkpoint-barrier-handler.js';

/** Records what the handler asked for, in order. */
function recorder(): { target: BarrierHandlerTarget; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    target: {
      blockChannel: (ch) => calls.push(`block ${ch}`),
      unblockAllChannels: () => calls.push('unblock'),
      checkpointAligned: (id, ts) => calls.push(`aligned ${id} @${ts}`),
      checkpointAborted: (id, reason) =>
        calls.push(reason.startsWith('the barrier') ? `aborted ${id}` : `aborted ${id}: ${reason}`),
    },
  };
}

describe('CheckpointBarrierHandler', () => {
  it('blocks each channel whose barrier arrived and aligns once every channel has it', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(3, target);
    h.onBarrier(1, 7, 100);
    h.onBarrier(0, 7, 100);
    expect(h.isAligning).toBe(true);
    expect(calls).toEqual(['block 1', 'block 0']);
    h.onBarrier(2, 7, 100);
    expect(calls).toEqual(['block 1', 'block 0', 'block 2', 'aligned 7 @100', 'unblock']);
    expect(h.isAligning).toBe(false);
    expect(h.latestCheckpointId).toBe(7);
  });

  it('aligns at once with a single input channel', () => {
    const { target, calls } = recorder();
    new CheckpointBarrierHandler(1, target).onBarrier(0, 1, 5);
    expect(calls).toEqual(['block 0', 'aligned 1 @5', 'unblock']);
  });

  it('ignores a second barrier on the same channel and barriers of older checkpoints', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(2, target);
    h.onBarrier(0, 2, 10);
    h.onBarrier(0, 2, 10);
    h.onBarrier(1, 1, 5);
    expect(calls).toEqual(['block 0']);
    h.onBarrier(1, 2, 10);
    expect(calls).toEqual(['block 0', 'block 1', 'aligned 2 @10', 'unblock']);
    // After alignment, a late barrier of the same checkpoint starts nothing.
    h.onBarrier(0, 2, 10);
    expect(calls).toHaveLength(4);
  });

  it('aborts a checkpoint still aligning when a newer barrier arrives', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(2, target);
    h.onBarrier(0, 1, 10);
    h.onBarrier(1, 2, 20);
    expect(calls).toEqual(['block 0', 'unblock', 'aborted 1', 'block 1']);
    h.onBarrier(0, 2, 20);
    expect(calls.slice(4)).toEqual(['block 0', 'aligned 2 @20', 'unblock']);
  });

  it('counts a channel at its end of partition as arrived, during alignment and after', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(3, target);
    h.onBarrier(0, 1, 10);
    h.onEndOfPartition(1);
    expect(calls).toEqual(['block 0']);
    h.onEndOfPartition(2);
    expect(calls).toEqual(['block 0', 'aligned 1 @10', 'unblock']);
    // Only channel 0 is still open: its barrier alone aligns the next checkpoint.
    h.onBarrier(0, 2, 20);
    expect(calls.slice(3)).toEqual(['block 0', 'aligned 2 @20', 'unblock']);
  });

  it('does nothing at an end of partition while no checkpoint is aligning', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(2, target);
    h.onEndOfPartition(0);
    expect(calls).toEqual([]);
    expect(h.isAligning).toBe(false);
    expect(h.latestCheckpointId).toBe(-1);
  });

  it('measures the alignment time from the first barrier to the last', () => {
    let time = 100;
    const aligned: number[] = [];
    const h = new CheckpointBarrierHandler(
      2,
      {
        blockChannel: () => undefined,
        unblockAllChannels: () => undefined,
        checkpointAligned: (_id, _ts, alignmentMs) => aligned.push(alignmentMs),
      },
      { now: () => time },
    );
    h.onBarrier(0, 1, 0);
    time = 137;
    h.onBarrier(1, 1, 0);
    expect(aligned).toEqual([37]);
  });

  it('blocks no channel in AT_LEAST_ONCE mode and counts a channel that ends behind its barrier once', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(3, target, { mode: 'AT_LEAST_ONCE' });
    h.onBarrier(0, 1, 10);
    h.onEndOfPartition(0);
    h.onBarrier(1, 1, 10);
    expect(calls).toEqual([]);
    h.onBarrier(2, 1, 10);
    expect(calls).toEqual(['aligned 1 @10']);
  });

  it('stops aligning a checkpoint the coordinator aborted, without declining it', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(2, target);
    h.onBarrier(0, 4, 10);
    h.abortCheckpoint(3);
    expect(h.isAligning).toBe(true);
    h.abortCheckpoint(4);
    expect(h.isAligning).toBe(false);
    expect(calls).toEqual(['block 0', 'unblock']);
    // The rest of the aborted checkpoint's barriers start nothing.
    h.onBarrier(1, 4, 10);
    expect(calls).toEqual(['block 0', 'unblock']);
  });

  it('declines a checkpoint still aligning when the task is cancelled', () => {
    const { target, calls } = recorder();
    const h = new CheckpointBarrierHandler(2, target);
    h.onBarrier(1, 2, 10);
    h.cancel();
    expect(calls).toEqual(['block 1', 'unblock', 'aborted 2: the task was cancelled']);
    h.cancel();
    expect(calls).toHaveLength(3);
  });
});
