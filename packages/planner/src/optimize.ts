/**
 * The planner's optimizing step: `@freshet/graph`'s optimizer (Flink's
 * chaining rules, partitioning, slot-sharing groups), whose JobGraph is then
 * validated with the protocol's `JobGraphSchema`, the form in which the
 * JobManager persists and deploys it.
 */
import {
  optimize as optimizeStreamGraph,
  type JobGraph,
  type StreamGraph,
  type StreamGraphJson,
} from '@freshet/graph';
import { JobGraphSchema } from '@freshet/protocol';

export { OptimizerError } from '@freshet/graph';

/**
 * Turns a StreamGraph into a validated JobGraph (see `@freshet/graph`'s
 * `optimize` for the rules). Deterministic.
 *
 * @throws {OptimizerError} on a graph that cannot become a JobGraph
 */
export function optimize(graph: StreamGraph | StreamGraphJson, planHash: string): JobGraph {
  return JobGraphSchema.parse(optimizeStreamGraph(graph, planHash));
}
