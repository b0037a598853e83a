/**
 * The in-band events of a data channel: what travels between a producer
 * subtask and a consumer subtask, in order. Records move in batches; control
 * events (watermarks, idleness, barriers, end of partition) are interleaved
 * with them in the same stream so their order relative to data is kept.
 */

/** A batch of records: `values[i]` has timestamp `timestamps[i]` (`NO_TIMESTAMP` when it has none). */
export interface BatchEvent {
  readonly kind: 'batch';
  readonly values: unknown[];
  readonly timestamps: Float64Array | number[];
}

/** The producer's output watermark advanced. */
export interface WatermarkEvent {
  readonly kind: 'watermark';
  readonly watermark: number;
}

/** The producer became idle (leave it out of the watermark minimum) or active again. */
export interface StatusEvent {
  readonly kind: 'status';
  readonly idle: boolean;
}

/** A checkpoint barrier: everything before it belongs to checkpoint `checkpointId`. */
export interface BarrierEvent {
  readonly kind: 'barrier';
  readonly checkpointId: number;
  readonly timestamp: number;
}

/** The producer will send nothing more on this channel. */
export interface EndOfPartitionEvent {
  readonly kind: 'end';
}

/** Everything that travels on a channel. */
export type ChannelEvent = BatchEvent | WatermarkEvent | StatusEvent | BarrierEvent | EndOfPartitionEvent;

/** The single end-of-partition event (it carries no data). */
export const END_OF_PARTITION: EndOfPartitionEvent = Object.freeze({ kind: 'end' });
