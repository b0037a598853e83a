/**
 * Which producer subtasks talk to which consumer subtasks over an edge, and
 * the numeric id of every channel. Every slot and every TaskManager derives
 * the same ids from the same JobGraph, so frames carry only a number.
 */
import type { JobGraph, JobEdge, Partitioning } from '@freshet/graph';

/** Consumer subtasks that producer subtask `p` (of `P`) sends to, in channel order. */
export function consumersOf(partitioning: Partitioning, p: number, P: number, C: number): number[] {
  switch (partitioning) {
    case 'FORWARD':
      if (P !== C) throw new RangeError(`FORWARD edge needs equal parallelism (got ${P} -> ${C})`);
      return [p];
    case 'RESCALE': {
      if (C >= P) {
        const from = Math.floor((p * C) / P);
        const to = Math.floor(((p + 1) * C) / P);
        const out: number[] = [];
        for (let c = from; c < to; c++) out.push(c);
        return out;
      }
      return [Math.floor((p * C) / P)];
    }
    default: {
      const out: number[] = [];
      for (let c = 0; c < C; c++) out.push(c);
      return out;
    }
  }
}

/** Producer subtasks that send to consumer subtask `c` (of `C`). */
export function producersOf(partitioning: Partitioning, c: number, P: number, C: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < P; p++) if (consumersOf(partitioning, p, P, C).includes(c)) out.push(p);
  return out;
}

/** Channel numbering for a JobGraph. */
export class ChannelTopology {
  private readonly base = new Map<string, number>();
  private readonly parallelism = new Map<string, number>();

  constructor(readonly jobGraph: JobGraph) {
    for (const v of jobGraph.vertices) this.parallelism.set(v.id, v.parallelism);
    let next = 0;
    for (const e of jobGraph.edges) {
      this.base.set(e.id, next);
      next += this.parallelismOf(e.source) * this.parallelismOf(e.target);
    }
  }

  /** Parallelism of a vertex. */
  parallelismOf(vertexId: string): number {
    const p = this.parallelism.get(vertexId);
    if (p === undefined) throw new Error(`unknown vertex ${vertexId}`);
    return p;
  }

  /** Id of the channel from producer subtask `p` to consumer subtask `c` over `edge`. */
  channelId(edge: JobEdge, p: number, c: number): number {
    const base = this.base.get(edge.id);
    if (base === undefined) throw new Error(`unknown edge ${edge.id}`);
    return base + p * this.parallelismOf(edge.target) + c;
  }
}

/**
 * Peer slot of a blocking channel's far end: a slot reaches it through its
 * uplink to the TaskManager, which writes (producer) or serves (consumer) the
 * blocking result partition instead of relaying to a running peer.
 */
export const BLOCKING_PEER_SLOT = -1;

/**
 * Whether `edge` is a blocking exchange: in BATCH mode every edge that is not
 * FORWARD (keyBy, rebalance, rescale, broadcast, global, custom) is, as in
 * Flink's batch scheduling, so the job runs in stages (see
 * {@link hasBlockingExchanges}). STREAMING jobs have none.
 */
export function isBlockingEdge(jobGraph: JobGraph, edge: JobEdge): boolean {
  return jobGraph.runtimeMode === 'BATCH' && edge.partitioning !== 'FORWARD';
}

/** Whether the job runs in stages joined by blocking exchanges (a BATCH job with a non-FORWARD edge). */
export function hasBlockingExchanges(jobGraph: JobGraph): boolean {
  return jobGraph.edges.some((e) => isBlockingEdge(jobGraph, e));
}
