/**
 * Key groups: the unit of keyed-state distribution (Flink's scheme). A key is
 * hashed to one of `maxParallelism` key groups; a subtask owns a contiguous
 * range of key groups. The hash partitioner and the state backend both use
 * these functions, so a record always lands where its state is — also after a
 * restore at a different parallelism.
 */

/**
 * Murmur3 finalizer-style mix of a 32-bit integer (Flink's MathUtils.murmurHash
 * spirit), as the int32 with the bits of the hash: an int32 stays a small
 * integer in V8, where the same bits as a uint32 above 2^31 are a heap number.
 */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** {@link hashKey}'s bits as an int32. */
function hashBits(key: string | number): number {
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

/** Deterministic 32-bit hash of a key (an unsigned integer), identical on every process and platform. */
export function hashKey(key: string | number): number {
  return hashBits(key) >>> 0;
}

/**
 * Key group (0 ≤ kg < maxParallelism ≤ 2^15) of a key: the unsigned hash
 * modulo `maxParallelism`, computed without a floating-point modulo (on a
 * uint32 above 2^31 `%` is a call into C++, and this runs once per record at
 * every hash exchange). A power of two (the default 128) masks the bits; any
 * other count splits the hash into 16-bit halves, `hi·2^16 + lo ≡ hi·(2^16 mod
 * m) + lo`, whose sum stays below 2^31.
 */
export function keyGroupOf(key: string | number, maxParallelism: number): number {
  const h = hashBits(key);
  const mask = maxParallelism - 1;
  if ((maxParallelism & mask) === 0) return h & mask;
  return ((h >>> 16) * (65536 % maxParallelism) + (h & 0xffff)) % maxParallelism;
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
