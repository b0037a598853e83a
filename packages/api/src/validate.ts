/**
 * Whole-graph checks, run when the program has returned (settings such as the
 * runtime mode or the job parallelism may be set after the operators). Each
 * failure is a {@link ProgramDefinitionError} naming the operator, and
 * pointing at the program line that created it when known.
 */
import { ProgramDefinitionError, type CallSite } from './errors.js';
import type { StreamGraphJson } from '@freshet/graph';

/**
 * Checks a StreamGraph and throws the first problem found:
 * no sink, duplicate uids or collect ids, unbounded sources in BATCH mode,
 * a keyed operator with more parallel instances than key groups, a FORWARD
 * edge between different parallelisms, or edges that do not fit their nodes.
 *
 * @param callSiteOf where the program created a node (for error locations)
 */
export function validateStreamGraph(
  graph: StreamGraphJson,
  callSiteOf: (nodeId: number) => CallSite | undefined = () => undefined,
): void {
  const { config, nodes, edges } = graph;
  const fail = (message: string, nodeId?: number): never => {
    const callSite = (nodeId === undefined ? undefined : callSiteOf(nodeId)) ?? null;
    throw new ProgramDefinitionError(message, { ...(nodeId === undefined ? {} : { nodeId }), callSite });
  };
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const label = (id: number): string => `'${byId.get(id)?.name ?? '?'}' (node ${id})`;
  const parallelismOf = (id: number): number => byId.get(id)?.parallelism ?? config.parallelism;

  if (nodes.length === 0) {
    fail(
      'The program built no pipeline: create a source on the environment (e.g. env.fromElements(...)) and end it with a sink',
    );
  }
  if (!nodes.some((n) => n.kind === 'sink')) {
    // Point at the last operator whose output goes nowhere: that is where a sink is missing.
    const dangling = nodes.filter((n) => !edges.some((e) => e.source === n.id)).at(-1);
    fail(
      'The program built no sink, so its results would go nowhere: end each pipeline with a sink such as print(), collect(id), writeAsJsonLines(path) or discard()',
      dangling?.id,
    );
  }

  for (const edge of edges) {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target) fail(`An edge connects unknown nodes ${edge.source} -> ${edge.target}`);
    if (edge.source >= edge.target)
      fail(`Edge ${edge.source} -> ${edge.target} goes backwards: node ids must follow creation order`);
    if (target!.inputs === 0 || edge.inputIndex >= target!.inputs) {
      fail(
        `Edge ${edge.source} -> ${edge.target} feeds input ${edge.inputIndex} of ${label(edge.target)}, which has ${target!.inputs} input(s)`,
      );
    }
    if (edge.partitioning === 'FORWARD' && parallelismOf(edge.source) !== parallelismOf(edge.target)) {
      fail(
        `forward() needs equal parallelism on both sides, but ${label(edge.source)} runs ${parallelismOf(edge.source)} ` +
          `and ${label(edge.target)} runs ${parallelismOf(edge.target)} instances: set the same parallelism or use rebalance()/rescale()`,
        edge.target,
      );
    }
  }
  for (const node of nodes) {
    if (node.inputs > 0 && !edges.some((e) => e.target === node.id)) {
      fail(`${label(node.id)} has no input`, node.id);
    }
    if (node.inputs === 2 && !edges.some((e) => e.target === node.id && e.inputIndex === 1)) {
      fail(`${label(node.id)} has no second input`, node.id);
    }
  }

  const uids = new Map<string, number>();
  const collectIds = new Map<string, number>();
  for (const node of nodes) {
    if (node.uid !== undefined) {
      const other = uids.get(node.uid);
      if (other !== undefined) {
        fail(
          `Duplicate uid '${node.uid}' on ${label(other)} and ${label(node.id)}: a uid identifies an operator's state across savepoints and must be unique within a job`,
          node.id,
        );
      }
      uids.set(node.uid, node.id);
    }
    const sink = node.spec.sink;
    if (sink?.type === 'collect') {
      const other = collectIds.get(sink.id);
      if (other !== undefined) {
        fail(
          `collect('${sink.id}') is used by two sinks, ${label(other)} and ${label(node.id)}: give each collect sink its own id`,
          node.id,
        );
      }
      collectIds.set(sink.id, node.id);
    }
  }

  if (config.runtimeMode === 'BATCH') {
    const unbounded = nodes.find((n) => n.kind === 'source' && n.bounded !== true);
    if (unbounded) {
      fail(
        `BATCH mode needs bounded sources: '${unbounded.name}' is unbounded. Bound it (e.g. a count or events limit) or run in STREAMING mode`,
        unbounded.id,
      );
    }
  }

  for (const node of nodes) {
    const parallelism = parallelismOf(node.id);
    const maxParallelism = node.maxParallelism ?? config.maxParallelism;
    if (node.keyed && parallelism > maxParallelism) {
      fail(
        `${label(node.id)} is keyed and runs ${parallelism} instances, but the job has only ${maxParallelism} key groups: ` +
          `lower its parallelism or raise maxParallelism (setMaxParallelism) to at least ${parallelism}`,
        node.id,
      );
    }
  }
}
