/**
 * The shared memory through which a slot worker shows it is alive, and which
 * subtask's slice it is in, to a watchdog on another thread: a user function
 * that does not return blocks its worker's event loop, so the beat stops
 * while the slice marker names the subtask. An `Int32Array` over a
 * `SharedArrayBuffer` of {@link WATCHDOG_BYTES}.
 */

/** Index of the beat counter, incremented by the worker every {@link BEAT_INTERVAL_MS}. */
export const BEAT = 0;
/** Index of the vertex (index in the JobGraph's vertices, plus one) whose slice runs; 0 between slices. */
export const SLICE_VERTEX = 1;
/** Index of the subtask whose slice runs. */
export const SLICE_SUBTASK = 2;

/** Size of a slot's watchdog memory. */
export const WATCHDOG_BYTES = 3 * Int32Array.BYTES_PER_ELEMENT;

/** How often a live worker beats. */
export const BEAT_INTERVAL_MS = 50;

/** A new watchdog memory for one slot. */
export function newWatchdogMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(WATCHDOG_BYTES);
}
