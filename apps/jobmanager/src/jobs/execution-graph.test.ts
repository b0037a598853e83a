import { ConflictError } from '@freshet/errors';
import { fixtureJob } from '@freshet/runtime/testing';
import { describe, expect, it } from 'vitest';
import { ExecutionGraph } from './execution-graph.js';

/** source -> map over FORWARD at parallelism 2: two pipelined regions. */
const forwardJob = () => fixtureJob('partition', { srcP: 2, dstP: 2, partitioning: 'FORWARD' }).jobGraph;
/** source -> map -> HASH -> reduce -> sink at parallelism 2: one region. */
const keyedJob = () => fixtureJob('keyedSum', { p: 2 }).jobGraph;

function graphOf(jobGraph = forwardJob()): ExecutionGraph {
  let n = 0;
  const g = new ExecutionGraph({ jobId: 'job', jobGraph, newId: () => `e${++n}` });
  g.slots = [
    { taskManagerId: 'tm-a', host: 'h', dataPort: 1, slotIndex: 0 },
    { taskManagerId: 'tm-b', host: 'h', dataPort: 2, slotIndex: 0 },
  ];
  return g;
}

/** Runs every execution to RUNNING, as a TaskManager would report it. */
function runAll(g: ExecutionGraph): void {
  g.schedule(g.vertices());
  for (const v of g.vertices()) g.transition(v, 'DEPLOYING');
  for (const v of g.vertices()) {
    const outcome = g.report(v.vertexId, v.subtask, v.current.attempt, v.current.taskManagerId!, 'RUNNING');
    expect(outcome.applied).toBe(true);
  }
}

describe('ExecutionGraph', () => {
  it('has one execution per vertex and subtask, in its pipelined region, in the global slot of its subtask', () => {
    const g = graphOf();
    expect(g.regions.regions).toHaveLength(2);
    expect(g.vertices().map((v) => [v.key, v.region])).toEqual([
      ['v1#0', 0],
      ['v1#1', 1],
      ['v3#0', 0],
      ['v3#1', 1],
    ]);
    expect(graphOf(keyedJob()).regions.regions).toHaveLength(1);
    const scheduled = g.schedule(g.vertices());
    expect(
      scheduled.map((t) => [t.execution.vertexId, t.execution.subtask, t.execution.taskManagerId, t.to]),
    ).toEqual([
      ['v1', 0, 'tm-a', 'SCHEDULED'],
      ['v1', 1, 'tm-b', 'SCHEDULED'],
      ['v3', 0, 'tm-a', 'SCHEDULED'],
      ['v3', 1, 'tm-b', 'SCHEDULED'],
    ]);
  });

  it('applies reports forward only, never out of a terminal state, and only the end once cancelling', () => {
    const g = graphOf();
    g.schedule(g.vertices());
    const v = g.vertex('v1', 0)!;
    g.transition(v, 'DEPLOYING');
    expect(g.report('v1', 0, 0, 'tm-a', 'SCHEDULED')).toEqual({ applied: false, reason: 'no-change' });
    expect(g.report('v1', 0, 0, 'tm-a', 'RUNNING').applied).toBe(true);
    g.transition(v, 'CANCELING');
    expect(g.report('v1', 0, 0, 'tm-a', 'RUNNING')).toEqual({ applied: false, reason: 'no-change' });
    const end = g.report('v1', 0, 0, 'tm-a', 'CANCELED');
    expect(end.applied && [end.transition.from, end.transition.to]).toEqual(['CANCELING', 'CANCELED']);
    expect(g.report('v1', 0, 0, 'tm-a', 'FAILED')).toEqual({ applied: false, reason: 'no-change' });
    expect(g.report('v9', 0, 0, 'tm-a', 'RUNNING')).toEqual({ applied: false, reason: 'unknown' });
  });

  it('fences reports of a stale attempt and of another TaskManager', () => {
    const g = graphOf();
    runAll(g);
    // Region 1 (subtasks #1) fails and restarts as attempt 1; region 0 keeps attempt 0.
    g.transition(g.vertex('v1', 1)!, 'FAILED', 'boom');
    g.transition(g.vertex('v3', 1)!, 'CANCELED');
    const { attempt, executions } = g.restartRegions([1]);
    expect(attempt).toBe(1);
    expect(executions.map((e) => [e.vertexId, e.subtask, e.attempt, e.state])).toEqual([
      ['v1', 1, 1, 'CREATED'],
      ['v3', 1, 1, 'CREATED'],
    ]);
    expect(g.vertex('v1', 0)!.current.attempt).toBe(0);
    expect(g.restarts).toBe(1);
    g.schedule(g.regionVertices(1));
    // The old attempt's late report changes nothing; nor does a report from a TaskManager that does not run it.
    expect(g.report('v1', 1, 0, 'tm-b', 'FINISHED')).toEqual({ applied: false, reason: 'stale-attempt' });
    expect(g.report('v1', 1, 1, 'tm-a', 'RUNNING')).toEqual({ applied: false, reason: 'foreign' });
    expect(g.report('v1', 1, 1, 'tm-b', 'RUNNING').applied).toBe(true);
    expect(g.isCurrent('v1', 1, 0, 'tm-b')).toBe(false);
    expect(g.isCurrent('v1', 1, 1, 'tm-b')).toBe(true);
    expect(g.isCurrent('v1', 0, 0, 'tm-a')).toBe(true);
  });

  it('restarts a region only once all its subtasks ended', () => {
    const g = graphOf();
    runAll(g);
    g.transition(g.vertex('v1', 1)!, 'FAILED');
    expect(() => g.restartRegions([1])).toThrow(ConflictError);
    expect(() => g.restartRegions([1])).toThrow(/tag -> collect \(2\/2\) of job job is still RUNNING/);
  });

  it("follows Flink's job status graph and derives the status from the executions", () => {
    const g = graphOf();
    expect(g.derivedStatus(false)).toBeUndefined();
    runAll(g);
    expect(g.derivedStatus(false)).toBe('RUNNING');
    expect(g.setStatus('RUNNING')).toEqual({ from: 'CREATED', to: 'RUNNING' });
    expect(g.setStatus('RUNNING')).toBeUndefined();
    expect(g.setStatus('RESTARTING')).toEqual({ from: 'RUNNING', to: 'RESTARTING' });
    // While a restart is under way the job stays RESTARTING even when everything runs.
    expect(g.derivedStatus(true)).toBeUndefined();
    expect(g.derivedStatus(false)).toBe('RUNNING');
    g.setStatus('RUNNING');
    for (const v of g.vertices()) g.report(v.vertexId, v.subtask, 0, v.current.taskManagerId!, 'FINISHED');
    expect(g.derivedStatus(false)).toBe('FINISHED');
    g.setStatus('FINISHED');
    expect(() => g.setStatus('RUNNING')).toThrow(/cannot go from FINISHED to RUNNING/);

    const failing = graphOf();
    failing.setStatus('FAILING');
    expect(failing.derivedStatus(false)).toBeUndefined();
    for (const v of failing.vertices()) failing.transition(v, 'CANCELED');
    expect(failing.derivedStatus(false)).toBe('FAILED');
  });

  it('adopts the newest executions a database kept, with their attempts', () => {
    const g = graphOf(keyedJob());
    g.adopt([
      {
        id: 'x',
        vertexId: 'v1',
        subtask: 0,
        attempt: 3,
        state: 'RUNNING',
        taskManagerId: 'tm-a',
        slotIndex: 1,
      },
      {
        id: 'y',
        vertexId: 'v1',
        subtask: 1,
        attempt: 2,
        state: 'FINISHED',
        taskManagerId: 'tm-b',
        slotIndex: 0,
      },
    ]);
    expect(g.attempt).toBe(3);
    expect(g.vertex('v1', 0)!.current).toMatchObject({ id: 'x', attempt: 3, state: 'RUNNING' });
    expect(g.vertex('v1', 1)!.current).toMatchObject({ id: 'y', attempt: 2, state: 'FINISHED' });
  });
});

describe('ExecutionGraph of a staged BATCH job', () => {
  const batchJob = () => ({ ...keyedJob(), runtimeMode: 'BATCH' as const });

  it('deploys a stage once the stage it reads finished, and runs while later stages wait', () => {
    const g = graphOf(batchJob());
    expect(g.staged).toBe(true);
    expect(graphOf(keyedJob()).staged).toBe(false);
    // Stage 1: the source chain's two regions; stage 2 reads both.
    expect(g.readyRegions()).toEqual([0, 1]);
    expect(g.downstreamOf(0)).toEqual([2, 3]);
    const stage1 = g.vertices().filter((v) => v.region < 2);
    g.schedule(stage1);
    expect(g.readyRegions()).toEqual([]);
    for (const v of stage1) {
      g.transition(v, 'DEPLOYING');
      g.report(v.vertexId, v.subtask, 0, v.current.taskManagerId!, 'RUNNING');
    }
    // Running with stage 2 still CREATED (waiting for its inputs).
    expect(g.derivedStatus(false)).toBe('RUNNING');
    g.setStatus('RUNNING');
    const first = stage1[0]!;
    g.report(first.vertexId, first.subtask, 0, first.current.taskManagerId!, 'FINISHED');
    // Stage 2 reads both stage-1 regions: not ready until both finished.
    expect(g.readyRegions()).toEqual([]);
    const second = stage1[1]!;
    g.report(second.vertexId, second.subtask, 0, second.current.taskManagerId!, 'FINISHED');
    expect(g.readyRegions()).toEqual([2, 3]);
    expect(g.derivedStatus(false)).toBeUndefined();
  });
});
