/**
 * The snapshot codec: a subtask's operator snapshots (one
 * {@link OperatorSnapshot} per StreamNode of its chain) as one buffer, the
 * unit the task hands to its host and the host writes to checkpoint storage.
 *
 * Encoding is the synchronous part of a checkpoint — "the quick in-memory
 * copy": once `encodeSubtaskSnapshot` returns, the task may change its
 * state again, and the buffer (whose ArrayBuffer nothing else uses, so it
 * can be transferred to another thread without a copy) is written out
 * asynchronously.
 *
 * Layout (version 1):
 *
 * ```
 * bytes 0..3   magic "FSNP"
 * byte  4      format version (1)
 * bytes 5..7   reserved (0)
 * bytes 8..    msgpack (msgpackr, moreTypes) of [[nodeId, OperatorSnapshot], ...]
 * ```
 *
 * msgpackr keeps what state holds: Maps, Sets, Dates, bigints, `undefined`,
 * ±Infinity and NaN round-trip; keyed state's key-group numbers come back as
 * object keys (strings), which the backend reads with `Number(...)`.
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import type { OperatorSnapshot } from '../operator.js';

/** Current version of the layout. */
export const SNAPSHOT_FORMAT_VERSION = 1;

const MAGIC = [0x46, 0x53, 0x4e, 0x50] as const; // "FSNP"
const HEADER_BYTES = 8;

const packr = new Packr({ moreTypes: true });
const unpackr = new Unpackr({ moreTypes: true });

/** Bytes that are not an encoded subtask snapshot, or state that cannot be encoded. */
export class SnapshotCodecError extends Error {
  override readonly name = 'SnapshotCodecError';
}

/** Size of the buffer the next snapshot is packed into: a little more than the largest one so far. */
let nextBufferSize = 64 * 1024;

/**
 * Encodes a subtask's snapshots (by StreamNode id) into a fresh buffer that
 * no one else uses: its ArrayBuffer can be transferred to another thread
 * (it may be somewhat larger than the view).
 *
 * msgpackr packs into one scratch buffer shared by every packer of the
 * thread, which it grows 4x at a time and then reuses: packing a large
 * snapshot there would leave every later channel batch of the task working
 * in (and reallocating) a buffer of the snapshot's size. So the snapshot is
 * packed into a buffer of its own, with room for the header in front (no
 * copy), and msgpackr gets a small scratch buffer back afterwards.
 *
 * @throws {@link SnapshotCodecError} when the state holds something msgpack cannot write (a function, a cycle)
 */
export function encodeSubtaskSnapshot(snapshots: ReadonlyMap<number, OperatorSnapshot>): Uint8Array {
  let out: Uint8Array;
  packr.useBuffer(Buffer.allocUnsafeSlow(nextBufferSize));
  try {
    out = packr.pack([...snapshots], RESERVE_START_SPACE | HEADER_BYTES);
  } catch (error) {
    throw new SnapshotCodecError(
      `the state cannot be written to a checkpoint (${error instanceof Error ? error.message : String(error)}); ` +
        'keep plain data (objects, arrays, Maps, Sets, strings, numbers) in state',
      { cause: error },
    );
  } finally {
    packr.useBuffer(Buffer.allocUnsafeSlow(8192));
  }
  if (out.byteLength + 4096 > nextBufferSize)
    nextBufferSize = Math.ceil((out.byteLength * 1.25 + 4096) / 4096) * 4096;
  // Outgrown, msgpackr moved it into a larger buffer of its own: it starts at that buffer's beginning too.
  if (out.byteOffset !== 0) out = out.slice();
  out.set(MAGIC, 0);
  out[4] = SNAPSHOT_FORMAT_VERSION;
  out[5] = out[6] = out[7] = 0;
  return out;
}

/**
 * Decodes a buffer written by {@link encodeSubtaskSnapshot}.
 *
 * @throws {@link SnapshotCodecError} when the bytes are not a snapshot or of an unknown version
 */
export function decodeSubtaskSnapshot(bytes: Uint8Array): Map<number, OperatorSnapshot> {
  if (bytes.byteLength < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new SnapshotCodecError('not a Freshet subtask snapshot (bad magic)');
  }
  const version = bytes[4]!;
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotCodecError(
      `subtask snapshot format version ${version} is not supported (this Freshet reads version ${SNAPSHOT_FORMAT_VERSION})`,
    );
  }
  let entries: unknown;
  try {
    entries = unpackr.unpack(bytes.subarray(HEADER_BYTES));
  } catch (error) {
    throw new SnapshotCodecError(
      `corrupt subtask snapshot (${error instanceof Error ? error.message : String(error)})`,
      {
        cause: error,
      },
    );
  }
  if (!Array.isArray(entries)) throw new SnapshotCodecError('corrupt subtask snapshot (no operator list)');
  const out = new Map<number, OperatorSnapshot>();
  for (const entry of entries as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'number') {
      throw new SnapshotCodecError('corrupt subtask snapshot (bad operator entry)');
    }
    out.set(entry[0], (entry[1] ?? {}) as OperatorSnapshot);
  }
  return out;
}

/**
 * The snapshots a subtask restores from, per StreamNode: one per decoded
 * buffer (several when former subtasks' key groups overlap this one's after
 * a rescale; one at the same parallelism).
 */
export function restoredSnapshotsOf(buffers: readonly Uint8Array[]): Map<number, OperatorSnapshot[]> {
  const out = new Map<number, OperatorSnapshot[]>();
  for (const bytes of buffers) {
    for (const [nodeId, snapshot] of decodeSubtaskSnapshot(bytes)) {
      let list = out.get(nodeId);
      if (!list) out.set(nodeId, (list = []));
      list.push(snapshot);
    }
  }
  return out;
}

/**
 * The checkpoints whose pieces an (incremental) subtask snapshot refers to:
 * every key group given as a piece reference (a number, or `[number,
 * heapParts]`, see `KeyGroupPieceRef`), ascending. Empty for a full snapshot.
 */
export function pieceRefsOf(snapshots: ReadonlyMap<number, OperatorSnapshot>): number[] {
  const ids = new Set<number>();
  for (const snapshot of snapshots.values()) {
    const keyed = snapshot.keyed;
    if (keyed === undefined) continue;
    for (const kg in keyed) {
      const ref = pieceRefOf(keyed[kg]);
      if (ref !== undefined) ids.add(ref);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** The checkpoint id a key group's data refers to, or undefined when it is data. */
function pieceRefOf(data: unknown): number | undefined {
  if (typeof data === 'number') return data;
  if (Array.isArray(data) && typeof data[0] === 'number') return data[0];
  return undefined;
}

/**
 * A subtask snapshot with every piece reference replaced by the data it
 * refers to, read from the piece of checkpoint N of the same subtask
 * (`readPiece(N)`): a self-contained snapshot, as a full one would be.
 * Returns `bytes` itself when nothing refers to a piece (every full
 * snapshot, all heap-backend ones). Used by every restore and by
 * savepoints, which materialize incremental checkpoints.
 *
 * @throws {@link SnapshotCodecError} when a piece lacks the key group a reference names
 */
export async function resolveSubtaskSnapshot(
  bytes: Uint8Array,
  readPiece: (checkpointId: number) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const snapshots = decodeSubtaskSnapshot(bytes);
  if (pieceRefsOf(snapshots).length === 0) return bytes;
  const pieces = new Map<number, Map<number, OperatorSnapshot>>();
  for (const [nodeId, snapshot] of snapshots) {
    const keyed = snapshot.keyed;
    if (keyed === undefined) continue;
    for (const kg in keyed) {
      const data = keyed[kg];
      const ref = pieceRefOf(data);
      if (ref === undefined) continue;
      let piece = pieces.get(ref);
      if (piece === undefined) pieces.set(ref, (piece = decodeSubtaskSnapshot(await readPiece(ref))));
      const stored = piece.get(nodeId)?.keyed?.[Number(kg)];
      // The piece holds the disk parts' buffer, alone or beside the heap parts it had then (replaced by today's).
      const buffer = Array.isArray(stored) ? (stored[0] as unknown) : stored;
      if (!(buffer instanceof Uint8Array)) {
        throw new SnapshotCodecError(
          `the piece of checkpoint ${ref} holds no data of key group ${kg} of operator ${nodeId}, which a later snapshot refers to`,
        );
      }
      keyed[Number(kg)] = Array.isArray(data) ? [buffer, data[1]] : buffer;
    }
  }
  return encodeSubtaskSnapshot(snapshots);
}
