/**
 * Pipelined regions (Flink's `SchedulingPipelinedRegion`): the connected
 * components of a job's execution graph at subtask level. Two subtasks are
 * in one region when a channel connects them, directly or through others.
 * Every exchange of a streaming job is pipelined, so a failure in a region
 * can only be repaired by restarting that whole region (its consumers would
 * otherwise miss records, its producers would have to replay), and nothing
 * outside it needs to restart. A job whose vertices are joined by HASH,
 * BROADCAST or REBALANCE edges is one region; `source -> map` over FORWARD
 * at parallelism 2 is two.
 *
 * With blocking exchanges (a staged BATCH job, `isBlockingEdge`) a blocking
 * edge joins no regions: its producer writes a complete result partition
 * that the consumer reads later, so each region is a stage's pipelined part
 * and {@link PipelinedRegion.upstream} lists the regions whose partitions it
 * reads (they must have finished before it is deployed).
 */
import type { JobGraph } from '@freshet/graph';
import { consumersOf, hasBlockingExchanges, isBlockingEdge } from '../network/topology.js';
import { executionKey, executionVertices, type ExecutionVertexId } from './execution-id.js';

/** One pipelined region. */
export interface PipelinedRegion {
  /** 0-based, in the order of each region's first execution (vertex order, then subtask). */
  index: number;
  /** The region's executions, in vertex order, then subtask. */
  executions: ExecutionVertexId[];
  /** Regions whose blocking result partitions this region reads (ascending; empty without blocking exchanges). */
  upstream: number[];
}

/** Options of {@link computePipelinedRegions}. */
export interface PipelinedRegionOptions {
  /** Cut the regions at blocking edges (a staged BATCH job). @default false */
  blockingExchanges?: boolean;
}

/** The pipelined regions of a job and a lookup from execution to region. */
export interface PipelinedRegions {
  regions: PipelinedRegion[];
  /** Region of an execution by {@link executionKey}. */
  regionOf(vertexId: string, subtask: number): PipelinedRegion;
}

/** Computes the pipelined regions of `jobGraph` from its channel topology. */
export function computePipelinedRegions(
  jobGraph: JobGraph,
  options: PipelinedRegionOptions = {},
): PipelinedRegions {
  const blocking = (edge: JobGraph['edges'][number]): boolean =>
    options.blockingExchanges === true && isBlockingEdge(jobGraph, edge);
  const all = executionVertices(jobGraph);
  const index = new Map<string, number>();
  all.forEach((e, i) => index.set(executionKey(e.vertexId, e.subtask), i));
  const parent = all.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    // The smaller root wins, so a region's root is its first execution.
    if (ra < rb) parent[rb] = ra;
    else if (rb < ra) parent[ra] = rb;
  };
  const parallelism = new Map(jobGraph.vertices.map((v) => [v.id, v.parallelism]));
  for (const edge of jobGraph.edges) {
    if (blocking(edge)) continue;
    const P = parallelism.get(edge.source);
    const C = parallelism.get(edge.target);
    if (P === undefined || C === undefined) throw new Error(`edge ${edge.id} connects an unknown vertex`);
    for (let p = 0; p < P; p++) {
      const producer = index.get(executionKey(edge.source, p))!;
      for (const c of consumersOf(edge.partitioning, p, P, C))
        union(producer, index.get(executionKey(edge.target, c))!);
    }
  }
  const byRoot = new Map<number, PipelinedRegion>();
  const regions: PipelinedRegion[] = [];
  const regionAt: PipelinedRegion[] = [];
  all.forEach((e, i) => {
    const root = find(i);
    let region = byRoot.get(root);
    if (!region) {
      region = { index: regions.length, executions: [], upstream: [] };
      byRoot.set(root, region);
      regions.push(region);
    }
    region.executions.push(e);
    regionAt[i] = region;
  });
  for (const edge of jobGraph.edges) {
    if (!blocking(edge)) continue;
    const P = parallelism.get(edge.source)!;
    const C = parallelism.get(edge.target)!;
    for (let p = 0; p < P; p++) {
      const producer = regionAt[index.get(executionKey(edge.source, p))!]!;
      for (const c of consumersOf(edge.partitioning, p, P, C)) {
        const consumer = regionAt[index.get(executionKey(edge.target, c))!]!;
        // A region reading its own partition (a self-loop) makes the stages cyclic: computeStages refuses it.
        if (!consumer.upstream.includes(producer.index)) consumer.upstream.push(producer.index);
      }
    }
  }
  for (const r of regions) r.upstream.sort((a, b) => a - b);
  return {
    regions,
    regionOf(vertexId, subtask) {
      const i = index.get(executionKey(vertexId, subtask));
      if (i === undefined) throw new Error(`execution ${executionKey(vertexId, subtask)} is not in the job`);
      return regionAt[i]!;
    },
  };
}

/**
 * The stages of a BATCH job: its regions cut at blocking edges, when it has
 * blocking exchanges and they form a DAG. Undefined when the job is not run
 * in stages: a STREAMING job, a BATCH job with FORWARD edges only, or one
 * where a region would read its own (or a downstream region's) blocking
 * partition — a two-input operator fed by one region both ways — which
 * only pipelined exchanges can run.
 */
export function computeStages(jobGraph: JobGraph): PipelinedRegions | undefined {
  if (!hasBlockingExchanges(jobGraph)) return undefined;
  const staged = computePipelinedRegions(jobGraph, { blockingExchanges: true });
  const done = new Set<number>();
  let progress = true;
  while (progress && done.size < staged.regions.length) {
    progress = false;
    for (const r of staged.regions) {
      if (done.has(r.index) || !r.upstream.every((u) => done.has(u))) continue;
      done.add(r.index);
      progress = true;
    }
  }
  return done.size === staged.regions.length ? staged : undefined;
}
