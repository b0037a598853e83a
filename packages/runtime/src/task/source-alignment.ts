/**
 * Watermark alignment at a source task (Flink's `withWatermarkAlignment`):
 * tracks the watermark the aligned chain member emits and the largest
 * watermark the group's coordinator allows, and says when the source must
 * pause. The host reports {@link SourceAlignment.report} to the coordinator
 * every `updateIntervalMs` and hands its announcements to
 * {@link SourceAlignment.allow}.
 */
import type { WatermarkAlignmentSpec } from '@freshet/graph';
import { MAX_WATERMARK, MIN_WATERMARK } from '../operator.js';

/** What a source task reports to its group's coordinator. */
export interface AlignmentReport {
  group: string;
  vertexId: string;
  subtask: number;
  /** The aligned output's watermark; MAX_WATERMARK when it is idle or ended (it holds nobody back). */
  watermark: number;
}

/** One source task's alignment state. */
export class SourceAlignment {
  /** The watermark the aligned member emitted last. */
  private watermark = MIN_WATERMARK;
  private idle = false;
  /**
   * Until the coordinator's first announcement the source may emit its
   * records up to its first watermark: it then waits to hear the group's minimum.
   */
  private maxAllowed = MIN_WATERMARK;
  private pausedSince = -1;
  /** Milliseconds spent paused, in total. */
  private pausedTotal = 0;
  /** Times the source paused. */
  pauses = 0;

  constructor(readonly spec: WatermarkAlignmentSpec) {}

  /** The aligned member emitted `watermark`. */
  onWatermark(watermark: number): void {
    if (watermark > this.watermark) this.watermark = watermark;
  }

  /** The aligned member's output went idle or active. */
  onIdle(idle: boolean): void {
    this.idle = idle;
  }

  /** Whether the source must not read now (its watermark is past what the group allows). */
  shouldPause(now: number): boolean {
    const pause = this.watermark < MAX_WATERMARK && this.watermark > this.maxAllowed;
    if (pause && this.pausedSince < 0) {
      this.pausedSince = now;
      this.pauses++;
    } else if (!pause && this.pausedSince >= 0) {
      this.pausedTotal += now - this.pausedSince;
      this.pausedSince = -1;
    }
    return pause;
  }

  /** The coordinator allows watermarks up to `maxAllowed`; returns whether a paused source may go on. */
  allow(maxAllowed: number): boolean {
    this.maxAllowed = maxAllowed;
    return this.pausedSince >= 0 && this.watermark <= maxAllowed;
  }

  /** Milliseconds paused so far. */
  pausedMs(now: number): number {
    return this.pausedTotal + (this.pausedSince >= 0 ? now - this.pausedSince : 0);
  }

  /** What the task reports to the coordinator. */
  report(vertexId: string, subtask: number, ended: boolean): AlignmentReport {
    return {
      group: this.spec.group,
      vertexId,
      subtask,
      watermark: ended || this.idle ? MAX_WATERMARK : this.watermark,
    };
  }
}
