/**
 * The JobManager's procedures as the dashboard sees them, derived from its
 * `AppRouter` (type-only: nothing of the JobManager is bundled). Outputs are
 * what arrives over the wire (`inferRouterOutputs`: dates as strings), inputs
 * what a call takes (`inferRouterInputs`).
 */
import type { RouterErrorShape, RouterInputs, RouterOutputs } from './trpc';

/** Input of `jobs.plan`: the artifact, the program's arguments and the plan overrides. */
export type PlanInput = RouterInputs['jobs']['plan'];
/** Input of `jobs.submit`: {@link PlanInput} and a job name. */
export type SubmitInput = RouterInputs['jobs']['submit'];
/** A runtime mode a job can be planned in. */
export type RuntimeMode = NonNullable<PlanInput['runtimeMode']>;

/** A compile or type error, positioned in the uploaded program (`error.data.diagnostics`). */
export type ProgramDiagnostic = NonNullable<RouterErrorShape['data']['diagnostics']>[number];

/** Output of `artifacts.upload`. */
export type UploadResult = RouterOutputs['artifacts']['upload'];
/** Output of `jobs.plan`. */
export type PlannedJob = RouterOutputs['jobs']['plan'];
/** `jobs.list`'s page. */
export type JobList = RouterOutputs['jobs']['list'];
/** One row of `jobs.list`. */
export type JobSummary = JobList['jobs'][number];
/** `jobs.get` (also what `jobs.onUpdate` streams). */
export type JobDetails = RouterOutputs['jobs']['get'];
/** A vertex of `jobs.get`, with its aggregated metrics. */
export type JobVertexView = JobDetails['vertices'][number];
/** Live figures of a vertex. */
export type VertexMetrics = JobVertexView['metrics'];
/** An edge of `jobs.get`. */
export type JobEdgeView = JobDetails['edges'][number];
/** A subtask (one execution attempt) of `jobs.get`. */
export type SubtaskView = JobDetails['subtasks'][number];
/** A state transition of `jobs.get`'s timeline. */
export type JobEventView = JobDetails['events'][number];
/** An exception of `jobs.get`. */
export type JobExceptionView = JobDetails['exceptions'][number];
/** `jobs.checkpoints`: counts, the latest completed checkpoint with its acknowledgements, the history. */
export type JobCheckpoints = RouterOutputs['jobs']['checkpoints'];
/** One second of a subtask's busy/backpressured/idle ratios and watermark (`jobs.subtaskHistory`). */
export type SubtaskHealthPoint = RouterOutputs['jobs']['subtaskHistory']['subtasks'][number][number];
/** `cluster.overview`'s throughput. */
export type ClusterThroughput = RouterOutputs['cluster']['overview']['throughput'];
/** `taskManagers.get`. */
export type TaskManagerDetails = RouterOutputs['taskManagers']['get'];
/** A subtask running on a TaskManager. */
export type TaskManagerSubtask = TaskManagerDetails['subtasks'][number];
/** One point of a TaskManager's health history. */
export type HealthPoint = TaskManagerDetails['healthHistory'][number];
