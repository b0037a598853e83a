/**
 * The control plane's procedures, served by this JobManager: the
 * implementation of `@freshet/protocol/control-plane`'s contract, which
 * TaskManagers type their client by. Mounted into `taskManagers.*` and
 * `executions.*` by the routers of those names.
 */
import { controlPlaneProcedures } from '@freshet/protocol/control-plane';
import type { Context } from '../trpc.js';

/** The control plane over this JobManager's services. */
export const controlPlane = controlPlaneProcedures<Context>({
  // What a registering TaskManager runs reaches the jobs through the registry's registration listener.
  register: (ctx, input) => ctx.registry.register(input),
  async heartbeat(ctx, input) {
    const reply = await ctx.registry.heartbeat(input);
    if (reply.status === 'ok') ctx.jobs.heartbeat(input);
    return reply;
  },
  deregister: (ctx, input) => ctx.registry.deregister(input),
  reportOutput(ctx, input) {
    ctx.registry.requireSession(input.taskManagerId, input.token);
    // stdout and stderr share one tail, in the order written (as a terminal shows them); the log has its own.
    const { lines } = input;
    for (let i = 0; i < lines.length;) {
      const stream = lines[i]!.stream;
      let j = i + 1;
      while (j < lines.length && lines[j]!.stream === stream) j++;
      const key = `${input.taskManagerId}:${stream === 'log' ? 'log' : 'stdout'}`;
      ctx.taskManagerOutput.pushText(key, stream, lines.slice(i, j));
      i = j;
    }
    return { accepted: input.lines.length };
  },
  reportProfile: (ctx, input) => ctx.cpuProfiles.report(input),
  async *commands(ctx, input, signal) {
    if (ctx.registry.checkSession(input.taskManagerId, input.token) === 'unknown') {
      yield {
        type: 'reregister',
        reason: `unknown TaskManager ${input.taskManagerId}: the JobManager restarted or declared it lost`,
      };
      return;
    }
    const last =
      input.lastEventId === null || input.lastEventId === undefined ? NaN : Number(input.lastEventId);
    yield* ctx.commands.drain(
      input.taskManagerId,
      Number.isInteger(last) && last >= 0 ? last : undefined,
      signal,
    );
  },
  reportStates: (ctx, input) => ctx.jobs.reportStates(input),
  reportMetrics: (ctx, input) => ctx.jobs.reportMetrics(input),
  reportCollected(ctx, input) {
    // The first records of the job are kept as its result (`jobs.collected`), the newest in its live output (`output.tail`).
    const answer = ctx.jobs.reportCollected(input);
    if (ctx.jobs.collectsFrom(input)) ctx.output.push(input.jobId, input.collectId, input.values);
    return answer;
  },
  reportLostPeer: (ctx, input) => ctx.jobs.reportLostPeer(input),
  declineCheckpoint: (ctx, input) => ctx.jobs.declineCheckpoint(input),
  reportWatermarks: (ctx, input) => ctx.jobs.reportWatermarks(input),
  reportTapSamples: (ctx, input) => ctx.edgeTaps.report(input),
});
