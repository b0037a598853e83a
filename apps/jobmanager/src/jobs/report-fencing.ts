/**
 * Which TaskManager may report what: a session proves who is calling; these
 * checks say whether the caller runs what its report is about. States,
 * metrics, checkpoint declines and checkpoint uploads are fenced per
 * subtask by the execution graph (`isCurrent`, `report`); the checks here
 * cover the reports that name no subtask: collected records (by collect
 * id), a lost peer (by peer), and bundle downloads (by digest).
 */
import type { ExecutionGraph } from './execution-graph.js';
import { TERMINAL } from './execution-graph.js';

/**
 * Whether `taskManagerId` runs, in `attempt`, a subtask of the vertex that
 * holds collect sink `collectId`. For a JobGraph planned before operators
 * named their collect id, any current subtask of the attempt on it counts.
 */
export function runsCollector(
  graph: ExecutionGraph,
  collectId: string,
  attempt: number,
  taskManagerId: string,
): boolean {
  const vertices = graph.jobGraph.vertices;
  const named = vertices.some((v) => v.operators.some((op) => op.collectId !== undefined));
  const holders = new Set(
    vertices.filter((v) => v.operators.some((op) => op.collectId === collectId)).map((v) => v.id),
  );
  return graph
    .vertices()
    .some(
      (v) =>
        v.current.attempt === attempt &&
        v.current.taskManagerId === taskManagerId &&
        (!named || holders.has(v.vertexId)),
    );
}

/**
 * Whether `reporter` runs a live subtask of the job in `attempt`, and
 * `peer` runs one of the same attempt: only then can the data connection
 * between them exist, so only then does its loss say anything about `peer`.
 */
export function sharesAttempt(
  graph: ExecutionGraph,
  attempt: number,
  reporter: string,
  peer: string,
): boolean {
  let reporterRuns = false;
  let peerRuns = false;
  for (const v of graph.vertices()) {
    if (v.current.attempt !== attempt) continue;
    if (v.current.taskManagerId === reporter && !TERMINAL.has(v.current.state)) reporterRuns = true;
    if (v.current.taskManagerId === peer) peerRuns = true;
  }
  return reporterRuns && peerRuns;
}

/** What {@link bundleDeployedTo} reads of the job service. */
export interface DeployedJobs {
  subtasksOn(taskManagerId: string): readonly { jobId: string }[];
  active(jobId: string): { bundleSha256: string } | undefined;
}

/** Whether a job with bundle `sha256` has a subtask deployed to `taskManagerId` that has not ended. */
export function bundleDeployedTo(jobs: DeployedJobs, sha256: string, taskManagerId: string): boolean {
  return jobs.subtasksOn(taskManagerId).some((s) => jobs.active(s.jobId)?.bundleSha256 === sha256);
}
