import type { AccumulatorValue } from '@freshet/api';
import type { UserMetricSample } from '../metrics/user-metrics.js';

/** Metrics of one subtask, as reported at least once a second. */
export interface SubtaskMetrics {
  vertexId: string;
  vertexName: string;
  subtask: number;
  /** Lifecycle state of the subtask. */
  state: string;
  /** Records taken from input channels (for sources: records the source emitted). */
  recordsIn: number;
  /** Records written to output edges. */
  recordsOut: number;
  /** Bytes received from other slots (in-slot exchanges pass objects and count 0). */
  bytesIn: number;
  /** Bytes sent to other slots. */
  bytesOut: number;
  /** Share of wall time spent processing since the previous report (0..1). */
  busyRatio: number;
  /** Share of wall time blocked waiting for credit with work pending, since the previous report (0..1). */
  backpressureRatio: number;
  /** Total milliseconds processing. */
  busyMs: number;
  /** Total milliseconds backpressured. */
  backpressuredMs: number;
  /** Combined input watermark (-Infinity before any; sources: the last emitted). */
  inputWatermark: number;
  /**
   * Connector metrics of the chain's sources and sinks (records and bytes
   * read or written, Kafka consumer lag per partition as `lag.<topic>-<partition>`), when it has any.
   */
  connector?: Record<string, number>;
  /** User metrics registered on the operators' metric groups (absent when there are none). */
  user?: UserMetricSample[];
  /** Local values of the subtask's accumulators, by name (absent when there are none). */
  accumulators?: Record<string, AccumulatorValue>;
  /** An aligned source (`withWatermarkAlignment`): how often and how long it paused for its group. */
  watermarkAlignment?: { pauses: number; pausedMs: number };
}
