/**
 * The deployment contract with the JobManager (`@freshet/protocol`'s
 * `control/deploy.ts`) as a tRPC router shape: the commands subscription and
 * the reporting mutations. The TaskManager's client is typed by it (the
 * JobManager's `AppRouter` serves the same procedures), and tests serve it
 * from a stand-in JobManager.
 */
import { initTRPC } from '@trpc/server';
import {
  HeartbeatInputSchema,
  RegisterTaskManagerInputSchema,
  ReportCollectedInputSchema,
  ReportMetricsInputSchema,
  ReportStatesInputSchema,
  TaskManagerSessionSchema,
  type HeartbeatInput,
  type HeartbeatOutput,
  type RegisterTaskManagerInput,
  type RegisterTaskManagerOutput,
  type ReportCollectedInput,
  type ReportMetricsInput,
  type ReportStatesInput,
  type TaskManagerCommand,
  type TaskManagerSession,
} from '@freshet/protocol';

/** What a server of the contract does. */
export interface DeploymentContractImpl {
  register(input: RegisterTaskManagerInput): Promise<RegisterTaskManagerOutput> | RegisterTaskManagerOutput;
  heartbeat(input: HeartbeatInput): Promise<HeartbeatOutput> | HeartbeatOutput;
  deregister(input: TaskManagerSession): void;
  /** Commands for one TaskManager until `signal` aborts. */
  commands(session: TaskManagerSession, signal: AbortSignal | undefined): AsyncIterable<TaskManagerCommand>;
  reportStates(input: ReportStatesInput): void;
  reportMetrics(input: ReportMetricsInput): void;
  reportCollected(input: ReportCollectedInput): void;
}

/** Builds a router serving the contract with `impl`. */
export function createDeploymentContractRouter(impl: DeploymentContractImpl) {
  const t = initTRPC.create();
  return t.router({
    taskManagers: t.router({
      register: t.procedure
        .input(RegisterTaskManagerInputSchema)
        .mutation(({ input }) => impl.register(input)),
      heartbeat: t.procedure.input(HeartbeatInputSchema).mutation(({ input }) => impl.heartbeat(input)),
      deregister: t.procedure.input(TaskManagerSessionSchema).mutation(({ input }) => {
        impl.deregister(input);
        return { ok: true as const };
      }),
      commands: t.procedure.input(TaskManagerSessionSchema).subscription(async function* ({ input, signal }) {
        for await (const command of impl.commands(input, signal)) yield command;
      }),
    }),
    executions: t.router({
      reportStates: t.procedure.input(ReportStatesInputSchema).mutation(({ input }) => {
        impl.reportStates(input);
        return { ok: true as const };
      }),
      reportMetrics: t.procedure.input(ReportMetricsInputSchema).mutation(({ input }) => {
        impl.reportMetrics(input);
        return { ok: true as const };
      }),
      reportCollected: t.procedure.input(ReportCollectedInputSchema).mutation(({ input }) => {
        impl.reportCollected(input);
        return { ok: true as const };
      }),
    }),
  });
}

/** The router type the TaskManager's deployment client is typed by. */
export type DeploymentContractRouter = ReturnType<typeof createDeploymentContractRouter>;
