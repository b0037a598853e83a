/**
 * Checkpoint state between TaskManagers and the JobManager, over plain HTTP
 * (bytes, not JSON): TaskManagers never need a filesystem shared with the
 * JobManager.
 *
 * - `PUT /checkpoints/<jobId>/<attempt>/<checkpointId>/<vertexId>/<subtask>`
 *   uploads a subtask's snapshot for checkpoint `checkpointId`, or its final
 *   state when the id segment is `final`. The upload *is* the subtask's
 *   acknowledgement: the JobManager checks that the uploading TaskManager
 *   runs that subtask in that attempt, stores the bytes in its checkpoint
 *   storage and acknowledges the checkpoint to its coordinator. The
 *   checkpoint statistics travel in the headers of
 *   {@link CHECKPOINT_UPLOAD_HEADERS}.
 * - `GET` of the same path (with a checkpoint id) returns the state a subtask
 *   of a deployment restores from; the same checks apply, `attempt` being the
 *   attempt it is deployed with.
 *
 * Both need `Authorization: Bearer <taskManagerId>.<token>` of a live session.
 */
import { z } from 'zod';

/** Path prefix of the checkpoint endpoints. */
export const CHECKPOINTS_PATH_PREFIX = '/checkpoints/';

/** The headers of an upload (values are decimal integers). */
export const CHECKPOINT_UPLOAD_HEADERS = {
  /** Time from the first barrier to the last (0 for sources and single-input tasks). */
  alignmentMs: 'x-freshet-alignment-ms',
  /** The synchronous part of the snapshot. */
  syncMs: 'x-freshet-sync-ms',
  /** Time the TaskManager took to hand the bytes over, until the upload started. */
  asyncMs: 'x-freshet-async-ms',
  /** For a final state: the newest checkpoint whose barrier the subtask saw before its input ended (0: none). */
  afterCheckpointId: 'x-freshet-after-checkpoint',
  /**
   * An incremental snapshot: the earlier checkpoints whose pieces (the
   * subtask's snapshot in them) it refers to, comma-separated ids and
   * ranges of ids (`3-9,12`, {@link formatUploadPieces}); absent for a full
   * snapshot.
   */
  pieces: 'x-freshet-pieces',
} as const;

/** The path of a subtask's checkpoint state. */
export function checkpointStatePath(
  jobId: string,
  attempt: number,
  checkpointId: number | 'final',
  vertexId: string,
  subtask: number,
): string {
  return `${CHECKPOINTS_PATH_PREFIX}${encodeURIComponent(jobId)}/${attempt}/${checkpointId}/${encodeURIComponent(vertexId)}/${subtask}`;
}

const Count = z.coerce.number().int().nonnegative();

/** The path segments of a checkpoint state request, parsed. */
export const CheckpointStatePathSchema = z.object({
  jobId: z.string().min(1).max(100),
  attempt: Count,
  checkpointId: z.union([z.literal('final'), z.coerce.number().int().positive()]),
  vertexId: z.string().min(1).max(200),
  subtask: Count,
});
/** @see {@link CheckpointStatePathSchema} */
export type CheckpointStatePath = z.infer<typeof CheckpointStatePathSchema>;

/**
 * Parses the path of a checkpoint state request (without query string), or
 * returns undefined when it is not one.
 */
export function parseCheckpointStatePath(path: string): CheckpointStatePath | undefined {
  if (!path.startsWith(CHECKPOINTS_PATH_PREFIX)) return undefined;
  const parts = path.slice(CHECKPOINTS_PATH_PREFIX.length).split('/');
  if (parts.length !== 5) return undefined;
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  const parsed = CheckpointStatePathSchema.safeParse({
    jobId: decoded[0],
    attempt: decoded[1],
    checkpointId: decoded[2],
    vertexId: decoded[3],
    subtask: decoded[4],
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * Most checkpoint ids one upload may refer to. A snapshot's chains name at
 * most 9 checkpoints a key group, so this leaves room for 8,000 key groups
 * whose chains all differ, and keeps a hostile range (`1-1000000000`) from
 * expanding into a billion ids.
 */
export const MAX_UPLOAD_PIECES = 72_000;

/**
 * {@link CHECKPOINT_UPLOAD_HEADERS}.pieces for ascending, distinct `ids`:
 * runs of consecutive ids as ranges (`3-9,12`). A snapshot's chains mostly
 * refer to the latest checkpoints, so the header stays a few bytes even
 * when it names hundreds of them (one id each would outgrow the 16 KiB
 * HTTP header limit).
 */
export function formatUploadPieces(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j === i ? String(ids[i]) : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The pieces an upload's snapshot refers to ({@link CHECKPOINT_UPLOAD_HEADERS}.pieces):
 * `[]` when absent, undefined when malformed or naming more than
 * {@link MAX_UPLOAD_PIECES} ids (the upload must be refused: taken as a
 * full snapshot, it would restore without the state it refers to).
 */
export function uploadPiecesOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): number[] | undefined {
  const raw = headers[CHECKPOINT_UPLOAD_HEADERS.pieces];
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (text === undefined || text.trim() === '') return [];
  const ids: number[] = [];
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    const from = Number((dash < 0 ? part : part.slice(0, dash)).trim());
    const to = dash < 0 ? from : Number(part.slice(dash + 1).trim());
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from <= 0 || to < from) return undefined;
    if (ids.length + (to - from + 1) > MAX_UPLOAD_PIECES) return undefined;
    for (let id = from; id <= to; id++) ids.push(id);
  }
  return ids;
}

/** The statistics of an upload, from its headers (absent or malformed values count as 0). */
export function uploadStatsOf(headers: Readonly<Record<string, string | string[] | undefined>>): {
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
  afterCheckpointId: number;
} {
  const read = (name: string): number => {
    const raw = headers[name];
    const n = Number(Array.isArray(raw) ? raw[0] : raw);
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
  };
  return {
    alignmentMs: read(CHECKPOINT_UPLOAD_HEADERS.alignmentMs),
    syncMs: read(CHECKPOINT_UPLOAD_HEADERS.syncMs),
    asyncMs: read(CHECKPOINT_UPLOAD_HEADERS.asyncMs),
    afterCheckpointId: read(CHECKPOINT_UPLOAD_HEADERS.afterCheckpointId),
  };
}
