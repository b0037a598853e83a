/**
 * The `_metadata` of a completed checkpoint: one self-contained JSON
 * document that says everything a restore needs without the database — the
 * job and its plan hash, every vertex with its parallelism, max parallelism
 * and operators (uids), and every subtask's state handle, size and whether
 * it is that subtask's final state. Versioned: `{"format":
 * "freshet-checkpoint", "version": 2, ...}`; a reader refuses other formats
 * and versions rather than misreading them. Version 2 adds incremental
 * checkpoints: a subtask's `pieces` (earlier checkpoints' stored snapshots
 * of the same subtask that its own snapshot refers to for unchanged key
 * groups) and the checkpoint's `checkpointedBytes` / `fullBytes`; a
 * version 1 document (no pieces) is read as it is.
 */
import { z } from 'zod';
import type { JobGraph } from '@freshet/graph';
import { executionKey } from '../executiongraph/execution-id.js';

/** The `format` field of every checkpoint metadata document. */
export const CHECKPOINT_METADATA_FORMAT = 'freshet-checkpoint';
/** The version this Freshet writes (it reads this one and version 1). */
export const CHECKPOINT_METADATA_VERSION = 2;

/** The versions this Freshet reads. */
const READABLE_VERSIONS: readonly unknown[] = [1, CHECKPOINT_METADATA_VERSION];

/** A stored piece an incremental snapshot refers to: an earlier checkpoint's snapshot of the same subtask. */
export const StatePieceSchema = z.object({
  /** The checkpoint whose snapshot of the subtask this is (the id the snapshot's references name). */
  checkpointId: z.int().positive(),
  handle: z.string().min(1),
  bytes: z.int().nonnegative(),
});
/** @see {@link StatePieceSchema} */
export type StatePiece = z.infer<typeof StatePieceSchema>;

/** One subtask's state in a checkpoint. */
export const SubtaskStateMetadataSchema = z.object({
  subtask: z.int().nonnegative(),
  /** Opaque handle of the checkpoint storage (the directory storage: a path relative to the job's directory). */
  handle: z.string().min(1),
  /** Size of the encoded snapshot. */
  bytes: z.int().nonnegative(),
  /** True when this is the subtask's final state (its input had ended): a restore finishes it at once. */
  final: z.boolean(),
  /**
   * The earlier pieces the snapshot refers to (an incremental snapshot of
   * the disk backend); absent or empty for a full one. A restore resolves
   * them (`resolveSubtaskSnapshot`); retention keeps them while referred to.
   */
  pieces: z.array(StatePieceSchema).optional(),
});
/** @see {@link SubtaskStateMetadataSchema} */
export type SubtaskStateMetadata = z.infer<typeof SubtaskStateMetadataSchema>;

/** One vertex of the job at the checkpoint. */
export const VertexStateMetadataSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  parallelism: z.int().positive(),
  maxParallelism: z.int().positive(),
  /** The chain's operators, head first: StreamNode ids and uids (to match state when the plan changes). */
  operators: z.array(z.object({ nodeId: z.int().positive(), name: z.string(), uid: z.string().optional() })),
  /** One entry per subtask, in subtask order. */
  subtasks: z.array(SubtaskStateMetadataSchema),
});
/** @see {@link VertexStateMetadataSchema} */
export type VertexStateMetadata = z.infer<typeof VertexStateMetadataSchema>;

/** The whole `_metadata` document. */
export const CheckpointMetadataSchema = z.object({
  format: z.literal(CHECKPOINT_METADATA_FORMAT),
  version: z.union([z.literal(1), z.literal(CHECKPOINT_METADATA_VERSION)]),
  jobId: z.string().min(1),
  jobName: z.string(),
  planHash: z.string(),
  checkpointId: z.int().positive(),
  /** The job attempt the checkpoint was taken in. */
  attempt: z.int().nonnegative(),
  /** Epoch ms of the trigger and of the completion. */
  triggeredAt: z.number(),
  completedAt: z.number(),
  /** Bytes this checkpoint wrote (its subtasks' own snapshots); absent in version 1. */
  checkpointedBytes: z.int().nonnegative().optional(),
  /** Bytes of all state it holds, pieces of earlier checkpoints included; absent in version 1. */
  fullBytes: z.int().nonnegative().optional(),
  vertices: z.array(VertexStateMetadataSchema),
});
/** @see {@link CheckpointMetadataSchema} */
export type CheckpointMetadata = z.infer<typeof CheckpointMetadataSchema>;

/** A `_metadata` document that cannot be read (not JSON, another format, another version, missing fields). */
export class CheckpointMetadataError extends Error {
  override readonly name = 'CheckpointMetadataError';
}

/** What a completed checkpoint holds, as the coordinator knows it. */
export interface CompletedCheckpointStates {
  jobId: string;
  checkpointId: number;
  attempt: number;
  triggeredAt: number;
  completedAt: number;
  /** Every subtask's state, by `vertexId#subtask`. */
  states: ReadonlyMap<string, SubtaskState>;
}

/** One subtask's state in a completed checkpoint: its own stored snapshot and the earlier pieces it refers to. */
export interface SubtaskState {
  handle: string;
  bytes: number;
  final: boolean;
  /** Earlier pieces the snapshot refers to; absent for a full snapshot. */
  pieces?: readonly StatePiece[] | undefined;
}

/**
 * Bytes a checkpoint wrote (its subtasks' own snapshots; a final state,
 * shared by several checkpoints, counts in each, as before incremental
 * checkpoints) and bytes of all the state it holds (its own snapshots and
 * the earlier pieces they refer to, each stored file once).
 */
export function checkpointSizes(states: Iterable<SubtaskState>): {
  checkpointedBytes: number;
  fullBytes: number;
} {
  let checkpointedBytes = 0;
  const pieces = new Map<string, number>();
  for (const s of states) {
    checkpointedBytes += s.bytes;
    pieces.set(s.handle, s.bytes);
    for (const p of s.pieces ?? []) pieces.set(p.handle, p.bytes);
  }
  let fullBytes = 0;
  for (const b of pieces.values()) fullBytes += b;
  return { checkpointedBytes, fullBytes };
}

/** The metadata document of a completed checkpoint of `jobGraph`. */
export function checkpointMetadataOf(
  jobGraph: JobGraph,
  checkpoint: CompletedCheckpointStates,
): CheckpointMetadata {
  return {
    format: CHECKPOINT_METADATA_FORMAT,
    version: CHECKPOINT_METADATA_VERSION,
    jobId: checkpoint.jobId,
    jobName: jobGraph.jobName,
    planHash: jobGraph.planHash,
    checkpointId: checkpoint.checkpointId,
    attempt: checkpoint.attempt,
    triggeredAt: checkpoint.triggeredAt,
    completedAt: checkpoint.completedAt,
    ...checkpointSizes(checkpoint.states.values()),
    vertices: jobGraph.vertices.map((v) => ({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      operators: v.operators.map((o) =>
        o.uid === undefined
          ? { nodeId: o.nodeId, name: o.name }
          : { nodeId: o.nodeId, name: o.name, uid: o.uid },
      ),
      subtasks: Array.from({ length: v.parallelism }, (_, subtask) => {
        const state = checkpoint.states.get(executionKey(v.id, subtask));
        if (!state)
          throw new RangeError(`checkpoint ${checkpoint.checkpointId} has no state for ${v.id}#${subtask}`);
        const entry: SubtaskStateMetadata = {
          subtask,
          handle: state.handle,
          bytes: state.bytes,
          final: state.final,
        };
        if (state.pieces !== undefined && state.pieces.length > 0) entry.pieces = [...state.pieces];
        return entry;
      }),
    })),
  };
}

/** The metadata as the JSON text of a `_metadata` file. */
export function serializeCheckpointMetadata(metadata: CheckpointMetadata): string {
  return `${JSON.stringify(metadata, null, 2)}\n`;
}

/**
 * Reads the JSON text of a `_metadata` file.
 *
 * @throws {@link CheckpointMetadataError} naming what is wrong
 */
export function parseCheckpointMetadata(text: string, where = '_metadata'): CheckpointMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointMetadataError(
      `${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== CHECKPOINT_METADATA_FORMAT) {
    throw new CheckpointMetadataError(
      `${where} is not a Freshet checkpoint (format is not "${CHECKPOINT_METADATA_FORMAT}")`,
    );
  }
  if (!READABLE_VERSIONS.includes(head.version)) {
    throw new CheckpointMetadataError(
      `${where} has checkpoint format version ${String(head.version)}; this Freshet reads versions ${READABLE_VERSIONS.join(' and ')}`,
    );
  }
  const parsed = CheckpointMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointMetadataError(
      `${where} is invalid: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'unknown problem'}`,
    );
  }
  return parsed.data;
}

/** Every subtask state handle of a checkpoint's metadata, by `vertexId#subtask`. */
export function statesOfMetadata(metadata: CheckpointMetadata): Map<string, SubtaskStateMetadata> {
  const out = new Map<string, SubtaskStateMetadata>();
  for (const v of metadata.vertices) for (const s of v.subtasks) out.set(executionKey(v.id, s.subtask), s);
  return out;
}
