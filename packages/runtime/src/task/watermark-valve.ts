/**
 * Combines per-channel watermarks into the task's input watermark (Flink's
 * StatusWatermarkValve): the minimum over all channels that are neither idle
 * nor ended, across all inputs. The combined watermark never goes back.
 */
import { MAX_WATERMARK, MIN_WATERMARK } from '../operator.js';

/** Per-channel watermark and idleness bookkeeping. */
export class WatermarkValve {
  private readonly watermarks: Float64Array;
  private readonly idle: Uint8Array;
  private readonly ended: Uint8Array;
  /** The combined watermark forwarded so far. */
  current = MIN_WATERMARK;
  /** Whether every live channel is idle (the task's output should be marked idle). */
  allIdle = false;

  constructor(readonly channelCount: number) {
    this.watermarks = new Float64Array(channelCount).fill(MIN_WATERMARK);
    this.idle = new Uint8Array(channelCount);
    this.ended = new Uint8Array(channelCount);
  }

  /** Channel `i` reports watermark `w`; returns the new combined watermark if it advanced, else undefined. */
  onWatermark(i: number, w: number): number | undefined {
    if (w > this.watermarks[i]!) this.watermarks[i] = w;
    // A watermark from an idle channel makes it active again (Flink does the same).
    if (this.idle[i] === 1) this.idle[i] = 0;
    return this.recompute();
  }

  /** Channel `i` became idle or active; returns the new combined watermark if it advanced. */
  onStatus(i: number, idle: boolean): number | undefined {
    this.idle[i] = idle ? 1 : 0;
    return this.recompute();
  }

  /** Channel `i` ended; it no longer holds the watermark back. */
  onEnd(i: number): number | undefined {
    this.ended[i] = 1;
    this.watermarks[i] = MAX_WATERMARK;
    return this.recompute();
  }

  /** Watermark of channel `i`. */
  channelWatermark(i: number): number {
    return this.watermarks[i]!;
  }

  private recompute(): number | undefined {
    let min = MAX_WATERMARK;
    let live = 0;
    let liveIdle = 0;
    for (let i = 0; i < this.channelCount; i++) {
      if (this.ended[i] === 1) continue;
      live++;
      if (this.idle[i] === 1) {
        liveIdle++;
        continue;
      }
      const w = this.watermarks[i]!;
      if (w < min) min = w;
    }
    this.allIdle = live > 0 && liveIdle === live;
    if (this.allIdle) return undefined;
    if (min > this.current) {
      this.current = min;
      return min;
    }
    return undefined;
  }
}
