/**
 * The JobManager ↔ TaskManager control plane, declared once:
 * `@freshet/protocol/control-plane`. Every procedure a TaskManager calls is
 * built here from the protocol's input and output schemas; the JobManager's
 * router serves them by implementing {@link ControlPlaneHandlers}, and the
 * TaskManager's client is typed by {@link ControlPlaneRouter}. A change to
 * a procedure's shape therefore breaks the compile of whichever side no
 * longer fits (as Arroyo's `rpc.proto` does for its controller and workers).
 *
 * Paths: `taskManagers.register`, `taskManagers.heartbeat`,
 * `taskManagers.deregister`, `taskManagers.reportOutput`, `taskManagers.reportProfile` (CPU profiles),
 * `taskManagers.commands` (a subscription over
 * server-sent events whose event ids are the commands' numbers, so a
 * reconnect with `lastEventId` misses none), `executions.reportStates`,
 * `executions.reportMetrics`, `executions.reportCollected`,
 * `executions.reportLostPeer`, `executions.declineCheckpoint` and
 * `executions.reportWatermarks` (watermark alignment) and
 * `executions.reportTapSamples` (edge taps). Checkpoint
 * state travels over plain HTTP (`control/checkpoints.ts`).
 *
 * A separate entry point because it needs `@trpc/server`; the main entry
 * stays zod only.
 *
 * @packageDocumentation
 */
import { initTRPC, tracked } from '@trpc/server';
import type { z } from 'zod';
import {
  DeclineCheckpointInputSchema,
  DeclineCheckpointOutputSchema,
  ReportCollectedInputSchema,
  ReportCollectedOutputSchema,
  ReportLostPeerInputSchema,
  ReportLostPeerOutputSchema,
  ReportMetricsInputSchema,
  ReportMetricsOutputSchema,
  ReportStatesInputSchema,
  ReportStatesOutputSchema,
  ReportWatermarksInputSchema,
  ReportWatermarksOutputSchema,
  type NumberedCommand,
  type TaskManagerCommand,
} from './control/deploy.js';
import {
  CommandsInputSchema,
  DeregisterInputSchema,
  DeregisterOutputSchema,
  HeartbeatInputSchema,
  HeartbeatOutputSchema,
  RegisterTaskManagerInputSchema,
  RegisterTaskManagerOutputSchema,
  ReportOutputInputSchema,
  ReportOutputOutputSchema,
} from './control/taskmanager.js';
import { ReportTapSamplesInputSchema, ReportTapSamplesOutputSchema } from './control/edge-taps.js';
import { ReportProfileInputSchema, ReportProfileOutputSchema } from './control/profiles.js';

type In<S extends z.ZodType> = z.output<S>;
type Out<S extends z.ZodType> = z.input<S> | Promise<z.input<S>>;

/**
 * What a server of the control plane does, one handler per procedure. `ctx`
 * is the server's tRPC context. Handlers throw domain errors; the server's
 * error formatter turns them into tRPC codes.
 */
export interface ControlPlaneHandlers<Ctx> {
  register(
    ctx: Ctx,
    input: In<typeof RegisterTaskManagerInputSchema>,
  ): Out<typeof RegisterTaskManagerOutputSchema>;
  heartbeat(ctx: Ctx, input: In<typeof HeartbeatInputSchema>): Out<typeof HeartbeatOutputSchema>;
  deregister(ctx: Ctx, input: In<typeof DeregisterInputSchema>): Out<typeof DeregisterOutputSchema>;
  reportOutput(ctx: Ctx, input: In<typeof ReportOutputInputSchema>): Out<typeof ReportOutputOutputSchema>;
  reportProfile(ctx: Ctx, input: In<typeof ReportProfileInputSchema>): Out<typeof ReportProfileOutputSchema>;
  /**
   * The session's commands as they come, after `lastEventId` when given.
   * Yield a bare command (without a number) only for `reregister`, which
   * ends the stream.
   */
  commands(
    ctx: Ctx,
    input: In<typeof CommandsInputSchema>,
    signal: AbortSignal | undefined,
  ): AsyncIterable<NumberedCommand | TaskManagerCommand>;
  reportStates(ctx: Ctx, input: In<typeof ReportStatesInputSchema>): Out<typeof ReportStatesOutputSchema>;
  reportMetrics(ctx: Ctx, input: In<typeof ReportMetricsInputSchema>): Out<typeof ReportMetricsOutputSchema>;
  reportCollected(
    ctx: Ctx,
    input: In<typeof ReportCollectedInputSchema>,
  ): Out<typeof ReportCollectedOutputSchema>;
  reportLostPeer(
    ctx: Ctx,
    input: In<typeof ReportLostPeerInputSchema>,
  ): Out<typeof ReportLostPeerOutputSchema>;
  declineCheckpoint(
    ctx: Ctx,
    input: In<typeof DeclineCheckpointInputSchema>,
  ): Out<typeof DeclineCheckpointOutputSchema>;
  reportWatermarks(
    ctx: Ctx,
    input: In<typeof ReportWatermarksInputSchema>,
  ): Out<typeof ReportWatermarksOutputSchema>;
  reportTapSamples(
    ctx: Ctx,
    input: In<typeof ReportTapSamplesInputSchema>,
  ): Out<typeof ReportTapSamplesOutputSchema>;
}

/** Metadata of every control-plane procedure: who may call it (a TaskManager holding a session). */
export interface ControlPlaneMeta {
  access: 'taskManager';
}

const isNumbered = (c: NumberedCommand | TaskManagerCommand): c is NumberedCommand => 'command' in c;

/**
 * The control plane's procedures over `handlers`, grouped as they are
 * mounted (`taskManagers.*`, `executions.*`): a server spreads each group
 * into its own router, next to procedures of its own.
 */
export function controlPlaneProcedures<Ctx extends object>(handlers: ControlPlaneHandlers<Ctx>) {
  const t = initTRPC.context<Ctx>().meta<ControlPlaneMeta>().create();
  // Authenticated by the TaskManager's session in each input, never by an API token.
  const p = t.procedure.meta({ access: 'taskManager' });
  // tRPC hands procedures its own rendering of the context type; it is the server's `Ctx`.
  const own = (ctx: unknown): Ctx => ctx as Ctx;
  return {
    taskManagers: {
      /** A TaskManager joins (or joins again) and gets its id, session token, heartbeat interval and timeout. */
      register: p
        .input(RegisterTaskManagerInputSchema)
        .output(RegisterTaskManagerOutputSchema)
        .mutation(({ ctx, input }) => handlers.register(own(ctx), input)),
      /** Liveness, health and what it runs; `reregister` when the session is unknown. */
      heartbeat: p
        .input(HeartbeatInputSchema)
        .output(HeartbeatOutputSchema)
        .mutation(({ ctx, input }) => handlers.heartbeat(own(ctx), input)),
      /** A clean shutdown. */
      deregister: p
        .input(DeregisterInputSchema)
        .output(DeregisterOutputSchema)
        .mutation(({ ctx, input }) => handlers.deregister(own(ctx), input)),
      /** The newest lines of the TaskManager's stdout, stderr and log (bounded, batched). */
      reportOutput: p
        .input(ReportOutputInputSchema)
        .output(ReportOutputOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportOutput(own(ctx), input)),
      /** A CPU profile the JobManager asked for with `profileCpu`: a flame tree, or why there is none. */
      reportProfile: p
        .input(ReportProfileInputSchema)
        .output(ReportProfileOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportProfile(own(ctx), input)),
      /** The session's commands over SSE; each event's id is the command's number. */
      commands: p.input(CommandsInputSchema).subscription(async function* ({ ctx, input, signal }) {
        for await (const c of handlers.commands(own(ctx), input, signal)) {
          if (isNumbered(c))
            yield tracked(
              String(c.id),
              c.leaderEpoch === undefined ? c.command : { ...c.command, leaderEpoch: c.leaderEpoch },
            );
          else yield c;
        }
      }),
    },
    executions: {
      /** Subtask state transitions; updates of unknown, foreign or stale subtasks are ignored and counted. */
      reportStates: p
        .input(ReportStatesInputSchema)
        .output(ReportStatesOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportStates(own(ctx), input)),
      /** Metrics samples (cumulative counters, ratios since the previous sample). */
      reportMetrics: p
        .input(ReportMetricsInputSchema)
        .output(ReportMetricsOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportMetrics(own(ctx), input)),
      /** Records of `collect` sinks. */
      reportCollected: p
        .input(ReportCollectedInputSchema)
        .output(ReportCollectedOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportCollected(own(ctx), input)),
      /** A data connection to a peer TaskManager broke: failover starts at once. */
      reportLostPeer: p
        .input(ReportLostPeerInputSchema)
        .output(ReportLostPeerOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportLostPeer(own(ctx), input)),
      /** A subtask could not take a checkpoint: the checkpoint is aborted. */
      declineCheckpoint: p
        .input(DeclineCheckpointInputSchema)
        .output(DeclineCheckpointOutputSchema)
        .mutation(({ ctx, input }) => handlers.declineCheckpoint(own(ctx), input)),
      /** Watermark alignment: the aligned sources' watermarks in, each group's largest allowed watermark out. */
      reportWatermarks: p
        .input(ReportWatermarksInputSchema)
        .output(ReportWatermarksOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportWatermarks(own(ctx), input)),
      /** Records sampled from a tapped edge; `wanted: false` tells the TaskManager to stop the tap. */
      reportTapSamples: p
        .input(ReportTapSamplesInputSchema)
        .output(ReportTapSamplesOutputSchema)
        .mutation(({ ctx, input }) => handlers.reportTapSamples(own(ctx), input)),
    },
  };
}

/**
 * A router serving only the control plane (a stand-in JobManager in
 * TaskManager tests); its type, {@link ControlPlaneRouter}, is what
 * TaskManagers type their client by.
 */
export function createControlPlaneRouter<Ctx extends object>(handlers: ControlPlaneHandlers<Ctx>) {
  const t = initTRPC.context<Ctx>().create();
  const procedures = controlPlaneProcedures(handlers);
  return t.router({
    taskManagers: t.router(procedures.taskManagers),
    executions: t.router(procedures.executions),
  });
}

/** The control plane's router type: the TaskManager's client is typed by it. */
export type ControlPlaneRouter = ReturnType<typeof createControlPlaneRouter<object>>;
