/**
 * Naming one execution vertex of a job: subtask `subtask` of JobVertex
 * `vertexId` (Flink's ExecutionVertexID). The string form `v3#1` keys maps
 * and travels in messages and checkpoint metadata.
 */
import type { JobGraph } from '@freshet/graph';

/** One parallel instance of a JobVertex. */
export interface ExecutionVertexId {
  vertexId: string;
  subtask: number;
}

/** `vertexId#subtask`, e.g. `v3#1`. */
export function executionKey(vertexId: string, subtask: number): string {
  return `${vertexId}#${subtask}`;
}

/** Every execution vertex of a job, vertex by vertex (topological order), subtasks ascending. */
export function executionVertices(jobGraph: JobGraph): ExecutionVertexId[] {
  const out: ExecutionVertexId[] = [];
  for (const v of jobGraph.vertices)
    for (let s = 0; s < v.parallelism; s++) out.push({ vertexId: v.id, subtask: s });
  return out;
}
