import { randomBytes } from 'node:crypto';
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { ForbiddenError, FreshetError, type ErrorCode } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import type { ProgramDiagnostic } from '@freshet/planner';
import type { ArtifactService } from './artifacts/service.js';
import type { LoginCodes } from './auth/login-codes.js';
import { roleAllows, type Role } from './auth/roles.js';
import type { Principal, TokenService } from './auth/tokens.js';
import type { ClusterRegistry } from './cluster/registry.js';
import { ProgramDiagnosticsError } from './errors.js';
import type { CommandHub } from './jobs/commands.js';
import type { MetricsStore } from './jobs/metrics.js';
import type { JobService } from './jobs/service.js';
import type { OutputTails } from './output/tail.js';
import type { EdgeTaps } from './edge-taps/edge-taps.js';
import type { CpuProfiles } from './profiles/cpu-profiles.js';

/** The JobManager's services, as every procedure reaches them. */
export interface Services {
  registry: ClusterRegistry;
  artifacts: ArtifactService;
  jobs: JobService;
  metrics: MetricsStore;
  commands: CommandHub;
  db: FreshetDatabase;
  tokens: TokenService;
  loginCodes: LoginCodes;
  /** The latest records of each job's sinks (`output.tail`). */
  output: OutputTails;
  /**
   * The latest lines of each TaskManager's stdout and stderr (key
   * `<id>:stdout`) and log (`<id>:log`), as they report them (`taskManagers.output`).
   */
  taskManagerOutput: OutputTails;
  /** The JobManager's own latest log lines (key {@link JOBMANAGER_LOG}), when its logger copies them there. */
  jobManagerLog: OutputTails;
  /** The edges the dashboard taps, and the records sampled there (`taps.*`). */
  edgeTaps: EdgeTaps;
  /** CPU profiles of TaskManagers being taken (`profiles.cpu`). */
  cpuProfiles: CpuProfiles;
}

/** The key of the JobManager's log in {@link Services.jobManagerLog}. */
export const JOBMANAGER_LOG = 'jobmanager:log';

/** What a procedure gets: the services and the request's credentials. */
export interface Context extends Services {
  /** The request's `Authorization` header; checked only by procedures that need a token. */
  authorization: string | undefined;
}

/** The context of a procedure that needs a token: who is calling. */
export interface AuthenticatedContext extends Context {
  principal: Principal;
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
  FORBIDDEN: 'FORBIDDEN',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
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

/** Who may call a procedure: anyone, a TaskManager with its session, or an API token of at least a role. */
export type Access = 'public' | 'taskManager' | Role;

/** Every procedure's metadata: its {@link Access}, so tests (and docs) can enumerate the API's rules. */
export interface ProcedureMeta {
  access: Access;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
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

/**
 * A procedure anyone may call. Only for what carries its own credential:
 * redeeming a one-time login code. Everything else needs a token or a
 * TaskManager session.
 */
export const publicProcedure = t.procedure.meta({ access: 'public' });

/**
 * A TaskManager control-plane procedure: its input carries the TaskManager's
 * session (`taskManagerId` and `token`), which the handler checks (the
 * registry's `requireSession` / `checkSession`); registering opens a session.
 * No API token: TaskManagers are not API users.
 */
export const taskManagerProcedure = t.procedure.meta({ access: 'taskManager' });

/** A procedure that needs an API token of at least `role`; UNAUTHORIZED without one, FORBIDDEN below it. */
function procedureFor(role: Role) {
  return t.procedure.meta({ access: role }).use(async ({ ctx, path, next }) => {
    const principal = await ctx.tokens.authenticate(ctx.authorization);
    if (!roleAllows(principal.role, role)) {
      throw new ForbiddenError(
        `${path} needs the ${role} role; the token '${principal.name}' has the ${principal.role} role`,
        { details: { needed: role, held: principal.role } },
      );
    }
    return next({ ctx: { ...ctx, principal } satisfies AuthenticatedContext });
  });
}

/** Reads: needs any API token (viewer, developer or admin). */
export const viewerProcedure = procedureFor('viewer');
/** Uploads, plans, submits and cancels: needs a developer or admin token. */
export const developerProcedure = procedureFor('developer');
/** Tokens, TaskManager administration, deleting artifacts: needs an admin token. */
export const adminProcedure = procedureFor('admin');
