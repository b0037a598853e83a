/**
 * Checkpoint storage: where subtask snapshots and checkpoint `_metadata`
 * live. Handles are opaque strings chosen by the storage, so an object store
 * (S3-compatible) can implement the same interface; the default is
 * {@link DirectoryCheckpointStorage} (`directory-storage.ts`). Who writes
 * through it differs by deployment: in local mode the mini-cluster's host
 * thread; on a cluster the JobManager, to which TaskManagers upload their
 * snapshots (they never need a shared filesystem).
 */
import type { CheckpointMetadata } from './metadata.js';

/** An opaque reference to a stored subtask snapshot, valid within its job. */
export type StateHandle = string;

/** Where a subtask snapshot is written. */
export interface StateLocation {
  jobId: string;
  /**
   * The checkpoint the snapshot was taken for, or `'final'` for a subtask's
   * final state (taken when its input ended; it may belong to several
   * checkpoints, so it is not stored under one).
   */
  checkpointId: number | 'final';
  /** The job attempt that took it. */
  attempt: number;
  vertexId: string;
  subtask: number;
}

/** What to delete of a job's checkpoint data. */
export interface DiscardRequest {
  /** Delete this checkpoint's `_metadata` (and its directory, once empty). */
  checkpointId?: number;
  /** State handles no retained checkpoint refers to any more. */
  handles: readonly StateHandle[];
}

/** Stores checkpoint data of any number of jobs. */
export interface CheckpointStorage {
  /** Writes a subtask snapshot atomically (a reader never sees half of it) and returns its handle. */
  writeState(location: StateLocation, bytes: Uint8Array): Promise<StateHandle>;
  /** Reads a snapshot back. */
  readState(jobId: string, handle: StateHandle): Promise<Uint8Array>;
  /** Writes a completed checkpoint's `_metadata` atomically; returns where it is (a path or URL). */
  writeMetadata(metadata: CheckpointMetadata): Promise<string>;
  /** Reads the `_metadata` of a checkpoint. */
  readMetadata(jobId: string, checkpointId: number): Promise<CheckpointMetadata>;
  /** Ids of the job's checkpoints that have a `_metadata`, ascending. */
  listCheckpoints(jobId: string): Promise<number[]>;
  /** Deletes data of a job's checkpoints; missing files are not an error. */
  discard(jobId: string, request: DiscardRequest): Promise<void>;
  /** Deletes everything stored for a job. */
  discardJob(jobId: string): Promise<void>;
}

/** A handle, location or job id that the storage cannot use. */
export class CheckpointStorageError extends Error {
  override readonly name = 'CheckpointStorageError';
}
