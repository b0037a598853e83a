import { randomBytes } from 'node:crypto';
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { FreshetError, type ErrorCode } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import type { ProgramDiagnostic } from '@freshet/planner';
import type { ArtifactService } from './artifacts/service.js';
import type { ClusterRegistry } from './cluster/registry.js';
import { ProgramDiagnosticsError } from './errors.js';
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

/**
 * The tRPC code a client gets for each Freshet error code: the one place
 * domain errors become transport errors. `INTERNAL` is never shown as it is
 * (see {@link answerOf}).
 */
export const TRPC_CODE_OF_ERROR: Readonly<Record<ErrorCode, TRPC_ERROR_CODE_KEY>> = {
  INVALID_INPUT: 'BAD_REQUEST',
  INVALID_PROGRAM: 'BAD_REQUEST',
  USER_FUNCTION_FAILED: 'BAD_REQUEST',
  PROTOCOL_VIOLATION: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  CANCELLED: 'CLIENT_CLOSED_REQUEST',
  FAILED_PRECONDITION: 'PRECONDITION_FAILED',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

/** What a client is told about a failed call. */
export interface ErrorAnswer {
  /** The transport error the client gets (code and message). */
  error: TRPCError;
  /** Compile and type errors of an upload, for `error.data.diagnostics`. */
  diagnostics: ProgramDiagnostic[] | null;
  /** For an internal error: the id its message and the log line share. */
  errorId?: string;
}

/** One answer per error, so the log line (`onError`) and the response (`errorFormatter`) agree on the error id. */
const answers = new WeakMap<TRPCError, ErrorAnswer>();

/**
 * The answer to a failed call. A Freshet domain error keeps its message and
 * gets the tRPC code of {@link TRPC_CODE_OF_ERROR}; an error tRPC raised
 * itself with a client code (invalid input, unknown procedure) stays as it
 * is; anything else — a bug, a database error — is an INTERNAL_SERVER_ERROR
 * whose message carries only a short error id, so no detail or stack of
 * ours reaches the client. The caller logs the error with that id.
 */
export function answerOf(error: TRPCError): ErrorAnswer {
  let answer = answers.get(error);
  if (answer !== undefined) return answer;
  const cause = error.cause;
  if (cause instanceof FreshetError && cause.code !== 'INTERNAL') {
    answer = {
      error: new TRPCError({ code: TRPC_CODE_OF_ERROR[cause.code], message: cause.message, cause }),
      diagnostics: cause instanceof ProgramDiagnosticsError ? cause.diagnostics : null,
    };
  } else if (error.code !== 'INTERNAL_SERVER_ERROR') {
    answer = { error, diagnostics: null };
  } else {
    const errorId = randomBytes(5).toString('hex');
    answer = {
      error: new TRPCError({
        code: 'INTERNAL_SERVER_ERROR',
        message: `Internal error ${errorId}: the JobManager failed unexpectedly; its log has the details under this id`,
      }),
      diagnostics: null,
      errorId,
    };
  }
  answers.set(error, answer);
  return answer;
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
  // Every error response (queries, mutations, subscription events) passes here.
  errorFormatter({ shape, error }) {
    const answer = answerOf(error);
    return {
      ...shape,
      message: answer.error.message,
      code: TRPC_ERROR_CODES_BY_KEY[answer.error.code],
      data: {
        ...shape.data,
        code: answer.error.code,
        httpStatus: getHTTPStatusCodeFromError(answer.error),
        // Compile and type errors travel as data too, so a UI can point at them.
        diagnostics: answer.diagnostics,
      },
    };
  },
});

/** Router factory bound to the JobManager's context. */
export const router = t.router;
/** Procedures anyone on the network may call (the JobManager listens on loopback by default). */
export const publicProcedure = t.procedure;
