/**
 * Checkpoint state between this TaskManager and the JobManager, over HTTP
 * (`@freshet/protocol`'s `control/checkpoints.ts`): snapshots are uploaded
 * (`PUT`, the upload is the subtask's acknowledgement) and the state a
 * deployment restores from is fetched (`GET`), both authenticated by the
 * session. No filesystem is shared with the JobManager.
 */
import { defineErrorClass, UnavailableError } from '@freshet/errors';
import { CHECKPOINT_UPLOAD_HEADERS, checkpointStatePath, formatUploadPieces } from '@freshet/protocol';

/** An upload or a fetch of checkpoint state failed. Code `UNAVAILABLE`. */
export class CheckpointTransferError extends UnavailableError<{ retry: boolean } | undefined> {
  static {
    defineErrorClass(this, 'CheckpointTransferError', 'UNAVAILABLE');
  }
}

/** Where checkpoint state goes and who sends it. */
export interface TransferTarget {
  jobManagerUrl: string;
  /** `<taskManagerId>.<token>` of the current session. */
  credentials: string;
  jobId: string;
  attempt: number;
  vertexId: string;
  subtask: number;
}

/** Statistics an upload carries. */
export interface UploadStats {
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
  /** For a final state: the newest checkpoint it saw before its input ended. */
  afterCheckpointId?: number;
  /** An incremental snapshot: the earlier checkpoints whose pieces it refers to. */
  pieces?: readonly number[];
}

const TIMEOUT_MS = 60_000;

/**
 * Uploads a subtask's snapshot of `checkpointId` (or its final state,
 * `'final'`), retrying a few times when the JobManager cannot be reached or
 * answers 5xx; a 4xx (a stale attempt, an unknown job) is final.
 */
export async function uploadCheckpointState(
  target: TransferTarget,
  checkpointId: number | 'final',
  state: Uint8Array,
  stats: UploadStats,
): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      await uploadOnce(target, checkpointId, state, stats);
      return;
    } catch (err) {
      if (tries >= 4 || (err instanceof CheckpointTransferError && err.details?.retry === false)) throw err;
      await new Promise((r) => setTimeout(r, 200 * tries));
    }
  }
}

async function uploadOnce(
  target: TransferTarget,
  checkpointId: number | 'final',
  state: Uint8Array,
  stats: UploadStats,
): Promise<void> {
  const url = `${target.jobManagerUrl}${checkpointStatePath(target.jobId, target.attempt, checkpointId, target.vertexId, target.subtask)}`;
  const headers: Record<string, string> = {
    authorization: `Bearer ${target.credentials}`,
    'content-type': 'application/octet-stream',
    [CHECKPOINT_UPLOAD_HEADERS.alignmentMs]: String(Math.round(stats.alignmentMs)),
    [CHECKPOINT_UPLOAD_HEADERS.syncMs]: String(Math.round(stats.syncMs)),
    [CHECKPOINT_UPLOAD_HEADERS.asyncMs]: String(Math.round(stats.asyncMs)),
  };
  if (stats.afterCheckpointId !== undefined)
    headers[CHECKPOINT_UPLOAD_HEADERS.afterCheckpointId] = String(stats.afterCheckpointId);
  if (stats.pieces !== undefined && stats.pieces.length > 0)
    headers[CHECKPOINT_UPLOAD_HEADERS.pieces] = formatUploadPieces(stats.pieces);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers,
      body: state,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new CheckpointTransferError(
      `Could not upload checkpoint state to ${url}: ${(err as Error).message}`,
    );
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new CheckpointTransferError(
      `Uploading checkpoint state to ${url} failed: HTTP ${response.status} ${text.slice(0, 300)}`,
      { details: { retry: response.status >= 500 } },
    );
  }
  await response.body?.cancel().catch(() => undefined);
}

/** Fetches the state subtask `target` restores from in checkpoint `checkpointId` (part `part` of several). */
export async function fetchCheckpointState(
  target: TransferTarget,
  checkpointId: number,
  signal?: AbortSignal,
  part?: number,
): Promise<Uint8Array> {
  const url = `${target.jobManagerUrl}${checkpointStatePath(target.jobId, target.attempt, checkpointId, target.vertexId, target.subtask)}${part === undefined ? '' : `?part=${part}`}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${target.credentials}` },
      signal:
        signal === undefined
          ? AbortSignal.timeout(TIMEOUT_MS)
          : AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
  } catch (err) {
    throw new CheckpointTransferError(`Could not fetch checkpoint state ${url}: ${(err as Error).message}`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new CheckpointTransferError(
      `Fetching checkpoint state ${url} failed: HTTP ${response.status} ${text.slice(0, 300)}`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}
