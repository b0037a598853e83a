import { initTRPC } from '@trpc/server';
import type { ClusterRegistry } from './cluster/registry.js';

/** What every procedure can reach. */
export interface Context {
  registry: ClusterRegistry;
}

const t = initTRPC.context<Context>().create({
  // Error responses carry code and message, never server stack traces.
  isDev: false,
  sse: {
    // Pings keep idle SSE streams (cluster.onUpdate) alive through proxies;
    // the client reconnects when it hears nothing for longer.
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
});

/** Router factory bound to the JobManager's context. */
export const router = t.router;
/** Procedures anyone on the network may call (the JobManager listens on loopback by default). */
export const publicProcedure = t.procedure;
