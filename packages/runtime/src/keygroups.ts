/**
 * Key groups: the unit of keyed-state distribution (Flink's scheme). A key is
 * hashed to one of `maxParallelism` key groups; a subtask owns a contiguous
 * range of key groups. The hash partitioner and the state backend both use
 * these functions, so a record always lands where its state is — also after a
 * restore at a different parallelism.
 */

/** Murmur3 finalizer-style mix of a 32-bit integer (Flink's MathUtils.murmurHash spirit). */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Deterministic 32-bit hash of a key, identical on every process and platform. */
export function hashKey(key: string | number): number {
  if (typeof key === 'number') {
    if (Number.isInteger(key) && key >= -0x80000000 && key <= 0x7fffffff) return mix32(key | 0);
    // Other numbers hash by their canonical string form.
    key = String(key);
  }
  // FNV-1a over UTF-16 code units, then mixed.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Key group (0 ≤ kg < maxParallelism) of a key. */
export function keyGroupOf(key: string | number, maxParallelism: number): number {
  return hashKey(key) % maxParallelism;
}

/** Index of the subtask (0 ≤ i < parallelism) that owns a key group. */
export function subtaskForKeyGroup(keyGroup: number, maxParallelism: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** Index of the subtask that owns a key. */
export function subtaskForKey(key: string | number, maxParallelism: number, parallelism: number): number {
  return subtaskForKeyGroup(keyGroupOf(key, maxParallelism), maxParallelism, parallelism);
}

/** The inclusive range of key groups owned by a subtask. */
export function keyGroupRange(
  maxParallelism: number,
  parallelism: number,
  subtaskIndex: number,
): { start: number; end: number } {
  if (parallelism > maxParallelism) {
    throw new RangeError(`parallelism ${parallelism} exceeds maxParallelism ${maxParallelism}`);
  }
  return {
    start: Math.ceil((subtaskIndex * maxParallelism) / parallelism),
    end: Math.ceil(((subtaskIndex + 1) * maxParallelism) / parallelism) - 1,
  };
}
