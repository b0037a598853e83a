/**
 * The JobManager's Prometheus endpoint (`GET /metrics`): this process's
 * metrics and the latest system and user metrics of every subtask of the
 * jobs it runs (the samples the TaskManagers report), in the text format.
 * A job's metrics leave the endpoint when it ends; its final values stay in
 * `jobs.get`.
 */
import type { ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '@freshet/runtime';
import { TERMINAL_JOB } from './jobs/execution-graph.js';
import type { MetricsStore } from './jobs/metrics.js';
import type { JobService } from './jobs/service.js';

/** Writes the exposition to `res`. */
export async function servePrometheus(
  res: ServerResponse,
  jobs: JobService,
  metrics: MetricsStore,
): Promise<void> {
  const running = metrics.jobIds().flatMap((id) => {
    const job = jobs.active(id);
    return job === undefined || TERMINAL_JOB.has(job.graph.status) ? [] : [job];
  });
  const vertexNames = new Map(
    running.map((j) => [j.id, new Map(j.graph.jobGraph.vertices.map((v) => [v.id, v.name]))]),
  );
  const text = await renderPrometheus(
    running.flatMap((j) => metrics.samples(j.id)),
    {
      jobName: (jobId) => jobs.active(jobId)?.name,
      vertexName: (jobId, vertexId) => vertexNames.get(jobId)?.get(vertexId),
    },
  );
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
  res.end(text);
}
