/**
 * Failover decisions (Flink's `RestartPipelinedRegionFailoverStrategy`),
 * pure: which pipelined regions a failure forces to restart, and which of a
 * job's global slots a restart must allocate anew.
 */
import type { DeployedSlot } from '@freshet/protocol';
import { TERMINAL, type ExecutionGraph, type ExecutionVertex } from './execution-graph.js';

/** The regions that must restart after `failed` failed: every region holding one of them. */
export function regionsToRestart(failed: readonly ExecutionVertex[]): Set<number> {
  return new Set(failed.map((v) => v.region));
}

/** The live executions a lost TaskManager took with it (finished ones need no restart). */
export function executionsLostWith(graph: ExecutionGraph, taskManagerId: string): ExecutionVertex[] {
  return graph
    .vertices()
    .filter((v) => v.current.taskManagerId === taskManagerId && !TERMINAL.has(v.current.state));
}

/**
 * A staged job: the finished executions whose result partitions were on a
 * lost TaskManager and are still needed (a region reading them has not
 * finished). Their regions must run again.
 */
export function partitionsLostWith(graph: ExecutionGraph, taskManagerId: string): ExecutionVertex[] {
  if (!graph.staged) return [];
  const needed = new Map<number, boolean>();
  const stillNeeded = (region: number): boolean => {
    let n = needed.get(region);
    if (n === undefined) {
      n = graph
        .downstreamOf(region)
        .some((d) => graph.regionVertices(d).some((v) => v.current.state !== 'FINISHED'));
      needed.set(region, n);
    }
    return n;
  };
  return graph
    .vertices()
    .filter(
      (v) =>
        v.current.taskManagerId === taskManagerId && v.current.state === 'FINISHED' && stillNeeded(v.region),
    );
}

/**
 * The global slots the subtasks of `regions` run in that need a new slot:
 * unassigned (released, or never allocated) or no longer held by the job
 * (`holds` says no: its TaskManager was lost — even if it has registered
 * again since, its slot went back to the pool with the loss).
 */
export function slotsToReplace(
  graph: ExecutionGraph,
  regions: ReadonlySet<number>,
  holds: (slot: DeployedSlot) => boolean,
): number[] {
  const used = new Set<number>();
  for (const v of graph.vertices()) if (regions.has(v.region)) used.add(graph.slotOf(v.subtask));
  return [...used]
    .filter((g) => {
      const slot = graph.slots[g];
      return slot === undefined || !holds(slot);
    })
    .sort((a, b) => a - b);
}

/**
 * The global slots nothing needs any more: every execution running in them
 * finished, so their TaskManager slots can go back to the pool.
 */
export function finishedSlots(graph: ExecutionGraph): number[] {
  const open = new Set<number>();
  for (const v of graph.vertices()) if (v.current.state !== 'FINISHED') open.add(graph.slotOf(v.subtask));
  const out: number[] = [];
  graph.slots.forEach((slot, g) => {
    if (slot !== undefined && !open.has(g)) out.push(g);
  });
  return out;
}
