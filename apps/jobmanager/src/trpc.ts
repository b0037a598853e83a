import { initTRPC } from '@trpc/server';
import type { FreshetDatabase } from '@freshet/db';
import type { ArtifactService } from './artifacts/service.js';
import type { ClusterRegistry } from './cluster/registry.js';
import { diagnosticsOf } from './errors.js';
import type { CommandHub } from './jobs/commands.js';
import type { MetricsStore } from './jobs/metrics.js';
import type { JobService } from './jobs/service.js';

/** What every procedure can reach. */
export interface Context {
  registry: ClusterRegistry;
  artifacts: ArtifactService;
  jobs: JobService;
  metrics: MetricsStore;
  commands: CommandHub;
  db: FreshetDatabase;
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
  errorFormatter({ shape, error }) {
    // Compile and type errors travel as data too, so a UI can point at them.
    return { ...shape, data: { ...shape.data, diagnostics: diagnosticsOf(error.cause) } };
  },
});

/** Router factory bound to the JobManager's context. */
export const router = t.router;
/** Procedures anyone on the network may call (the JobManager listens on loopback by default). */
export const publicProcedure = t.procedure;
