/**
 * The snapshot codec: a subtask's operator snapshots (one
 * {@link OperatorSnapshot} per StreamNode of its chain) as one buffer, the
 * unit the task hands to its host and the host writes to checkpoint storage.
 *
 * Once `encodeSubtaskSnapshot` returns, the task may change its state
 * again, and the buffer (whose ArrayBuffer nothing else uses, so it can be
 * transferred to another thread without a copy) is written out
 * asynchronously. The task calls it at the barrier, or, for an asynchronous
 * heap snapshot (`task/deferred-snapshot.ts`), after it packed each heap key
 * group into a buffer of its own between its processing slices.
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
import type { HeapKeyGroup } from '../state/backend.js';
import { decodeKeyGroup, encodeKeyGroup } from '../state/disk-store.js';
import { applyKeyGroupDelta, isChainData, type KeyGroupChainData } from '../state/key-group-chain.js';

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

/** The error for state msgpack could not write (`what`: the state, or a part of it, named in the message). */
export function unencodableState(error: unknown, what = 'the state'): SnapshotCodecError {
  return new SnapshotCodecError(
    `${what} cannot be written to a checkpoint (${error instanceof Error ? error.message : String(error)}); ` +
      'keep plain data (objects, arrays, Maps, Sets, strings, numbers) in state',
    { cause: error },
  );
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
    throw unencodableState(error);
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
 * heapParts]`, see `KeyGroupPieceRef`) and every link of every chain a key
 * group is on (`KeyGroupChainData`), ascending. Empty for a full snapshot.
 */
export function pieceRefsOf(snapshots: ReadonlyMap<number, OperatorSnapshot>): number[] {
  const ids = new Set<number>();
  for (const snapshot of snapshots.values()) {
    const keyed = snapshot.keyed;
    if (keyed === undefined) continue;
    for (const kg in keyed) {
      const data = keyed[kg];
      if (isChainData(data)) for (const id of data[1]) ids.add(id);
      else {
        const ref = pieceRefOf(data);
        if (ref !== undefined) ids.add(ref);
      }
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** The checkpoint id a key group's data refers to, or undefined when it is data (or a chain). */
function pieceRefOf(data: unknown): number | undefined {
  if (typeof data === 'number') return data;
  if (Array.isArray(data) && typeof data[0] === 'number') return data[0];
  return undefined;
}

/**
 * A subtask snapshot with every piece reference replaced by the data it
 * refers to, read from the piece of checkpoint N of the same subtask
 * (`readPiece(N)`), and every chain applied in order (the base's buffer,
 * then each delta: puts overwrite, removals delete) into one full key group
 * buffer: a self-contained snapshot, as a full one would be. Returns
 * `bytes` itself when nothing refers to a piece (every full snapshot, all
 * heap-backend ones). Used by every restore and by savepoints, which
 * materialize incremental checkpoints. `where` names the subtask's state
 * in errors (e.g. `checkpoint 7, vertex v3 subtask 1`).
 *
 * @throws {@link SnapshotCodecError} when a piece lacks the key group a reference names, or a delta is malformed
 */
export async function resolveSubtaskSnapshot(
  bytes: Uint8Array,
  readPiece: (checkpointId: number) => Promise<Uint8Array>,
  where = 'the subtask state',
): Promise<Uint8Array> {
  const snapshots = decodeSubtaskSnapshot(bytes);
  if (pieceRefsOf(snapshots).length === 0) return bytes;
  const pieces = new Map<number, Map<number, OperatorSnapshot>>();
  /** Key group `kg` of operator `nodeId` as the piece of checkpoint `id` stored it. */
  const stored = async (id: number, nodeId: number, kg: number): Promise<unknown> => {
    let piece = pieces.get(id);
    if (piece === undefined) pieces.set(id, (piece = decodeSubtaskSnapshot(await readPiece(id))));
    return piece.get(nodeId)?.keyed?.[kg];
  };
  for (const [nodeId, snapshot] of snapshots) {
    const keyed = snapshot.keyed;
    if (keyed === undefined) continue;
    for (const kgText in keyed) {
      const kg = Number(kgText);
      const data = keyed[kg];
      if (isChainData(data)) {
        const buffer = await resolveChain(data, nodeId, kg, stored, where);
        keyed[kg] = data[3] === null ? buffer : [buffer, data[3]];
        continue;
      }
      const ref = pieceRefOf(data);
      if (ref === undefined) continue;
      const buffer = baseBufferOf(await stored(ref, nodeId, kg));
      if (buffer === undefined) {
        throw new SnapshotCodecError(
          `the piece of checkpoint ${ref} holds no data of key group ${kg} of operator ${nodeId}, which ${where} refers to`,
        );
      }
      keyed[kg] = Array.isArray(data) ? [buffer, data[1] as HeapKeyGroup] : buffer;
    }
  }
  return encodeSubtaskSnapshot(snapshots);
}

/** The disk parts' full buffer a piece stored for a key group, alone or beside the heap parts it had then. */
function baseBufferOf(stored: unknown): Uint8Array | undefined {
  const buffer = Array.isArray(stored) ? (stored[0] as unknown) : stored;
  return buffer instanceof Uint8Array ? buffer : undefined;
}

/** One full key group buffer of a chain: its base, then every delta in order (the earlier pieces', then its own). */
async function resolveChain(
  chain: KeyGroupChainData,
  nodeId: number,
  kg: number,
  stored: (id: number, nodeId: number, kg: number) => Promise<unknown>,
  where: string,
): Promise<Uint8Array> {
  const ids = chain[1];
  const what = (id: number | undefined): string =>
    `key group ${kg} of operator ${nodeId} in ${id === undefined ? where : `the piece of checkpoint ${id} that ${where} refers to`}`;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id)))
    throw new SnapshotCodecError(`malformed chain of ${what(undefined)}: it names no base checkpoint`);
  const base = baseBufferOf(await stored(ids[0]!, nodeId, kg));
  if (base === undefined)
    throw new SnapshotCodecError(`${what(ids[0])} holds no full buffer to base the chain on`);
  let group = decodeKeyGroup(base) ?? {};
  for (let i = 1; i <= ids.length; i++) {
    const id = i < ids.length ? ids[i] : undefined;
    let delta: unknown;
    if (id === undefined) delta = chain[2];
    else {
      const link = await stored(id, nodeId, kg);
      // A link is the delta its checkpoint wrote on top of exactly the links before it.
      if (!isChainData(link) || !samePrefix(link[1], ids, i))
        throw new SnapshotCodecError(
          `${what(id)} is not the delta on top of checkpoints ${ids.slice(0, i).join(', ')}`,
        );
      delta = link[2];
    }
    if (delta === null && id === undefined) break;
    if (!(delta instanceof Uint8Array))
      throw new SnapshotCodecError(`malformed delta of ${what(id)}: no delta buffer`);
    try {
      group = applyKeyGroupDelta(group, delta);
    } catch (error) {
      throw new SnapshotCodecError(`malformed delta of ${what(id)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return encodeKeyGroup(group);
}

/** Whether `link` is the first `n` ids of `ids`. */
function samePrefix(link: unknown, ids: readonly number[], n: number): boolean {
  if (!Array.isArray(link) || link.length !== n) return false;
  for (let i = 0; i < n; i++) if (link[i] !== ids[i]) return false;
  return true;
}
