/**
 * Key group chains: how the disk backend's incremental checkpoints store a
 * key group that changed only a little. A key group's data is then a
 * _chain_ — a full buffer (as {@link encodeKeyGroup} writes it) in the piece
 * of one checkpoint, the base, then a delta in the piece of each later
 * checkpoint that changed it: the current value of every key changed since
 * the previous link, and the keys removed. Applying a chain in order (puts
 * overwrite, removals delete) gives the key group's data as of its last
 * link, which a restore turns back into one full buffer.
 *
 * In a subtask snapshot's `keyed`, a key group on a chain is
 * `['chain', ids, delta, heapParts]`: `ids` the checkpoints of the chain's
 * links in order (base first) that earlier pieces hold, `delta` this
 * snapshot's own delta on top of them (null when it refers to the chain
 * unchanged), `heapParts` the parts held on the heap (timers), written every
 * time, or null. The string tag tells it apart from the other forms (a
 * buffer, `[buffer, heapParts]`, a checkpoint id, `[id, heapParts]`, a heap
 * backend's object).
 */
import { Packr, Unpackr } from 'msgpackr';
import type { Key } from '@freshet/api';
import type { HeapKeyGroup, KeyGroupSnapshot } from './backend.js';

/** The tag of {@link KeyGroupChainData}. */
export const CHAIN_TAG = 'chain';

/** A key group of an incremental snapshot stored as a chain (see the module comment). */
export type KeyGroupChainData = [
  tag: typeof CHAIN_TAG,
  ids: number[],
  delta: Uint8Array | null,
  heapParts: HeapKeyGroup | null,
];

/** One delta's data: the changed keys' current data per part, and the keys removed per part. */
export interface KeyGroupDelta {
  /** Part name -> `[key, data]` of each key written since the previous link. */
  puts: KeyGroupSnapshot;
  /** Part name -> keys removed since the previous link. */
  removed: Record<string, Key[]>;
}

const packr = new Packr({ moreTypes: true });
const unpackr = new Unpackr({ moreTypes: true });

/** Whether a key group's snapshot data is a {@link KeyGroupChainData}. */
export function isChainData(data: unknown): data is KeyGroupChainData {
  return Array.isArray(data) && data[0] === CHAIN_TAG;
}

/** A delta as bytes of its own (msgpack of `[puts, removed]`). */
export function encodeKeyGroupDelta(delta: KeyGroupDelta): Uint8Array {
  // msgpackr packs into a scratch buffer it reuses: the delta gets a copy of its own.
  return Uint8Array.prototype.slice.call(packr.pack([delta.puts, delta.removed]));
}

/**
 * The key group data `group` with the delta `bytes` applied: for each part,
 * the removed keys go, then each put replaces the key's data (or adds the
 * key); a part left without entries is left out. `group` is not changed.
 *
 * @throws TypeError when the bytes are not a delta (the caller names where it came from)
 */
export function applyKeyGroupDelta(group: KeyGroupSnapshot, bytes: Uint8Array): KeyGroupSnapshot {
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(bytes);
  } catch (error) {
    throw new TypeError(`undecodable delta (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || !isRecord(decoded[0]) || !isRecord(decoded[1]))
    throw new TypeError('not a delta (expected [puts, removed])');
  const puts = decoded[0];
  const removed = decoded[1];
  const out: KeyGroupSnapshot = {};
  for (const name of new Set([...Object.keys(group), ...Object.keys(puts), ...Object.keys(removed)])) {
    const put = puts[name] ?? [];
    const gone = removed[name] ?? [];
    if (!Array.isArray(put) || !Array.isArray(gone))
      throw new TypeError(`not a delta (part '${name}' is not a list)`);
    const before = group[name] ?? [];
    if (put.length === 0 && gone.length === 0) {
      if (before.length > 0) out[name] = before;
      continue;
    }
    const entries = new Map<Key, unknown>();
    for (const [key, data] of before) entries.set(key, data);
    for (const key of gone as Key[]) entries.delete(key);
    for (const entry of put as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2)
        throw new TypeError(`not a delta (an entry of part '${name}' is not [key, data])`);
      entries.set(entry[0] as Key, entry[1]);
    }
    if (entries.size > 0) out[name] = [...entries];
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}
