/**
 * The `_metadata` of a completed checkpoint: one self-contained JSON
 * document that says everything a restore needs without the database — the
 * job and its plan hash, every vertex with its parallelism, max parallelism
 * and operators (uids), and every subtask's state handle, size and whether
 * it is that subtask's final state. Versioned: `{"format":
 * "freshet-checkpoint", "version": 1, ...}`; a reader refuses other formats
 * and versions rather than misreading them.
 */
import { z } from 'zod';
import type { JobGraph } from '@freshet/graph';
import { executionKey } from '../executiongraph/execution-id.js';

/** The `format` field of every checkpoint metadata document. */
export const CHECKPOINT_METADATA_FORMAT = 'freshet-checkpoint';
/** The version this Freshet writes and reads. */
export const CHECKPOINT_METADATA_VERSION = 1;

/** One subtask's state in a checkpoint. */
export const SubtaskStateMetadataSchema = z.object({
  subtask: z.int().nonnegative(),
  /** Opaque handle of the checkpoint storage (the directory storage: a path relative to the job's directory). */
  handle: z.string().min(1),
  /** Size of the encoded snapshot. */
  bytes: z.int().nonnegative(),
  /** True when this is the subtask's final state (its input had ended): a restore finishes it at once. */
  final: z.boolean(),
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
  version: z.literal(CHECKPOINT_METADATA_VERSION),
  jobId: z.string().min(1),
  jobName: z.string(),
  planHash: z.string(),
  checkpointId: z.int().positive(),
  /** The job attempt the checkpoint was taken in. */
  attempt: z.int().nonnegative(),
  /** Epoch ms of the trigger and of the completion. */
  triggeredAt: z.number(),
  completedAt: z.number(),
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
  states: ReadonlyMap<string, { handle: string; bytes: number; final: boolean }>;
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
        return { subtask, handle: state.handle, bytes: state.bytes, final: state.final };
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
  if (head.version !== CHECKPOINT_METADATA_VERSION) {
    throw new CheckpointMetadataError(
      `${where} has checkpoint format version ${String(head.version)}; this Freshet reads version ${CHECKPOINT_METADATA_VERSION}`,
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
