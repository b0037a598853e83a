import { createHash } from 'node:crypto';
import { streamGraphToJson } from '@freshet/graph';
import type { StreamGraph, StreamGraphJson } from '@freshet/graph';

/**
 * Serializes `value` as JSON with object keys sorted, so equal data always
 * gives equal text. Values follow `JSON.stringify`'s rules (`toJSON`,
 * `undefined` dropped from objects, `null` in arrays), which makes the result
 * identical for a graph and for the same graph after a JSON round trip.
 */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }) ?? 'null'
  );
}

/**
 * The plan hash: sha256 (hex) over the canonical JSON of the StreamGraph
 * without its functions. Equal bundles and arguments give equal hashes, in
 * any process; a TaskManager compares it with the JobManager's before it
 * binds user functions to operator ids.
 */
export function computePlanHash(graph: StreamGraph | StreamGraphJson): string {
  const json = streamGraphToJson(graph as StreamGraph);
  return createHash('sha256').update(canonicalJson(json)).digest('hex');
}
