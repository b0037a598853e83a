import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@freshet/settings';
import { openDatabase, type FreshetDatabase } from '@freshet/db';
import { CHECKPOINTING_DEFAULTS } from '@freshet/graph';
import { describePlanSandbox } from '@freshet/planner';
import { ArtifactService } from './artifacts/service.js';
import { ensureAdminToken } from './auth/bootstrap.js';
import { LoginCodes } from './auth/login-codes.js';
import { TokenService } from './auth/tokens.js';
import { startHealthMonitor } from './cluster/health-monitor.js';
import { prismaClusterStore } from './cluster/prisma-store.js';
import { LeaderLease } from './cluster/leadership.js';
import { leaderAnswer, standbyHandler, type StandbyState } from './cluster/standby.js';
import { JoinSecret } from './cluster/join-secret.js';
import { ClusterRegistry } from './cluster/registry.js';
import { JOBMANAGER_USAGE, loadJobManagerConfig, type JobManagerConfig } from './env.js';
import { CommandHub } from './jobs/commands.js';
import { MetricsStore } from './jobs/metrics.js';
import { ProgramPlanner } from './jobs/planning.js';
import { JobService, type ClusterJobDefaults } from './jobs/service.js';
import { WorkQueue } from './limits/work-queue.js';
import { createLogger, type Logger } from './logger.js';
import {
  createRequestHandler,
  listenHttp,
  sendJson,
  startHttpServer,
  type HttpServer,
  type RequestHandler,
} from './server.js';
import { OutputTails } from './output/tail.js';
import { EdgeTaps } from './edge-taps/edge-taps.js';
import { CpuProfiles } from './profiles/cpu-profiles.js';
import { JOBMANAGER_LOG, type Services } from './trpc.js';

/** The JobManager's version, from its package.json. */
export const JOBMANAGER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A running JobManager. */
export interface JobManager {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  readonly port: number;
  readonly registry: ClusterRegistry;
  readonly jobs: JobService;
  /** `<data-dir>/admin-token` when it holds a live admin token (created on the first start). */
  readonly adminTokenFile: string | undefined;
  /** Closes the server, stops the monitor, closes the database. Idempotent. */
  close(): Promise<void>;
}

/** The checkpointing and restart strategy of jobs that set none themselves, from the settings. */
export function clusterJobDefaults(config: JobManagerConfig): ClusterJobDefaults {
  const defaults: ClusterJobDefaults = {};
  if (config.checkpointIntervalMs > 0) {
    defaults.checkpointing = {
      ...CHECKPOINTING_DEFAULTS,
      intervalMs: config.checkpointIntervalMs,
      timeoutMs: config.checkpointTimeoutMs,
      minPauseBetweenCheckpointsMs: config.checkpointMinPauseMs,
      tolerableCheckpointFailureNumber: config.checkpointTolerableFailures,
      maxRetainedCheckpoints: config.checkpointsRetained,
    };
  }
  if (config.restartStrategy !== undefined) defaults.restartStrategy = config.restartStrategy;
  return defaults;
}

/**
 * The JobManager's services over an open database, as the API's procedures
 * reach them. Nothing runs yet: {@link startJobManager} restores and starts
 * them.
 */
export function createContext(
  db: FreshetDatabase,
  config: JobManagerConfig,
  logger: Logger,
  jobManagerLog: OutputTails = new OutputTails({ maxJobs: 1 }),
  leaderEpoch?: number,
): Services {
  const joinSecret = JoinSecret.resolve(config);
  logger.info(joinSecret.describe());
  const registry = new ClusterRegistry({
    store: prismaClusterStore(db),
    logger,
    version: JOBMANAGER_VERSION,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    joinSecret,
    leaderEpoch,
  });
  const artifacts = new ArtifactService({
    db,
    dir: join(config.dataDir, 'artifacts'),
    uploadLimitBytes: config.uploadLimitBytes,
    projectLimits: { maxFiles: config.projectMaxFiles, maxBytes: config.projectMaxBytes },
    logger,
    compileQueue: new WorkQueue({
      what: 'compiling uploads',
      concurrency: config.compileConcurrency,
      queue: config.compileQueue,
      settings: '--compile-concurrency, --compile-queue',
    }),
  });
  const commands = new CommandHub(leaderEpoch);
  const metrics = new MetricsStore();
  const jobs = new JobService({
    db,
    registry,
    artifacts,
    commands,
    metrics,
    logger,
    dataDir: config.dataDir,
    slotRequestTimeoutMs: config.slotRequestTimeoutMs,
    planner: new ProgramPlanner({
      timeoutMs: config.planTimeoutMs,
      maxJobParallelism: config.maxJobParallelism,
      queue: new WorkQueue({
        what: 'planning programs',
        concurrency: config.planConcurrency,
        queue: config.planQueue,
        settings: '--plan-concurrency, --plan-queue',
      }),
      // The data directory (database, artifacts, the admin token) may lie inside the package tree the sandbox mounts.
      sandbox: { hide: [config.dataDir] },
    }),
    collectLimitPerJob: config.collectLimitPerJob,
    collectLimitTotal: config.collectLimitTotal,
    collectLimitBytes: config.collectLimitBytes,
    finishedJobLingerMs: config.finishedJobLingerMs,
    cancelTimeoutMs: config.cancelTimeoutMs,
    defaults: clusterJobDefaults(config),
  });
  const tokens = new TokenService({ db, logger });
  const output = new OutputTails({ recordsPerJob: config.outputRecordsPerJob });
  // Two tails per TaskManager (stdout and stderr, log), the last 1000 lines of each, up to 128 TaskManagers.
  const taskManagerOutput = new OutputTails({ recordsPerJob: 1000, maxJobs: 256 });
  return {
    registry,
    artifacts,
    jobs,
    metrics,
    commands,
    db,
    tokens,
    loginCodes: new LoginCodes(),
    output,
    taskManagerOutput,
    jobManagerLog,
    edgeTaps: new EdgeTaps({ jobs, registry, commands }),
    cpuProfiles: new CpuProfiles({ registry, commands }),
  };
}

/** Options of {@link startJobManager} beyond the configuration. */
export interface StartJobManagerHooks {
  /**
   * With high availability: this JobManager lost its leadership (another
   * took the lease, or it could not renew in time). It has already stopped
   * serving; the caller closes it and exits, to come back as a standby.
   */
  onLeadershipLost?: (reason: string) => void;
  /** Aborts the wait of a standby for leadership (the start then rejects). */
  signal?: AbortSignal;
}

/**
 * Starts a JobManager with a parsed configuration: opens (and migrates) the
 * database, restores the TaskManager book, starts the health monitor and the
 * HTTP server, and logs `JobManager listening on <url>`.
 *
 * With `--high-availability database` it first serves as a standby (logging
 * `JobManager listening on <url> (standby)`) until it holds the leadership
 * lease, then restores and starts everything as a restarted JobManager
 * would (running jobs recover from their latest checkpoints) and logs
 * `JobManager is the leader`; it resolves then.
 */
export async function startJobManager(
  config: JobManagerConfig,
  logger: Logger = createLogger(config.logLevel),
  jobManagerLog?: OutputTails,
  hooks: StartJobManagerHooks = {},
): Promise<JobManager> {
  const ha = config.highAvailability === 'database';
  if (ha && config.databaseUrl === undefined) {
    throw new ConfigError(
      'Invalid configuration: --high-availability database needs a Postgres database all JobManagers share (set DATABASE_URL); the embedded PGlite serves one process only',
    );
  }
  const tls = await readTls(config);
  await mkdir(config.dataDir, { recursive: true });
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  let monitor: ReturnType<typeof startHealthMonitor> | undefined;
  let jobs: JobService | undefined;
  let server: HttpServer | undefined;
  let lease: LeaderLease | undefined;
  let epoch: number | undefined;
  let switchable: { handle: RequestHandler } | undefined;
  const onAbort = (): void => {
    void lease?.close();
  };
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (ha) {
      // Serve at once as a standby: clients and TaskManagers find out who leads from any JobManager.
      const standby: StandbyState = { url: '', leader: undefined };
      const current = (switchable = { handle: standbyHandler(standby, logger) });
      server = await listenHttp({ host: config.host, port: config.port, tls }, (req, res) => {
        current.handle(req, res);
      });
      standby.url = server.url;
      lease = new LeaderLease({ db, url: server.url, logger, ttlMs: config.haLeaseMs });
      logger.info(
        { url: server.url, port: server.port, instance: lease.id, leaseMs: lease.ttlMs },
        `JobManager listening on ${server.url} (standby)`,
      );
      let lostBeforeReady: string | undefined;
      epoch = await lease.campaign({
        onStandby: (leader) => {
          standby.leader = leader;
          logger.info(
            leader === undefined || leader.expired
              ? { leader: null }
              : { leader: leader.url, epoch: leader.epoch },
            leader === undefined || leader.expired
              ? 'Standby: no JobManager leads; taking the lease'
              : `Standby: the leader is ${leader.url} (epoch ${leader.epoch})`,
          );
        },
        onLost: (reason) => {
          logger.fatal({ reason, epoch }, `JobManager lost its leadership: ${reason}`);
          // Stop serving at once: nothing more may reach the TaskManagers or the database from this term.
          current.handle = standbyHandler({ url: standby.url, leader: undefined }, logger);
          void jobs?.stop();
          if (hooks.onLeadershipLost === undefined) lostBeforeReady = reason;
          else hooks.onLeadershipLost(reason);
        },
      });
      if (lostBeforeReady !== undefined)
        throw new Error(`JobManager lost its leadership: ${lostBeforeReady}`);
      logger.info({ epoch, instance: lease.id }, `Leadership lease taken (epoch ${epoch}); recovering`);
    }
    const services = createContext(db, config, logger, jobManagerLog, epoch);
    const { registry, artifacts, tokens } = services;
    jobs = services.jobs;
    await registry.restore();
    await artifacts.init();
    await jobs.start();
    await tokens.pruneExpired();
    const adminTokenFile = await ensureAdminToken(tokens, config.dataDir, logger);
    logger.info(`Plan sandbox: ${describePlanSandbox()}`);
    monitor = startHealthMonitor(registry, config.heartbeatTimeoutMs, logger);
    const handlerOptions = {
      uploadLimitBytes: config.uploadLimitBytes,
      maxBatchSize: config.maxBatchSize,
      services,
      logger,
    };
    if (switchable !== undefined && server !== undefined) {
      const full = createRequestHandler(handlerOptions);
      const self = server.url;
      const leaderEpoch = epoch;
      switchable.handle = (req, res) => {
        if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/leader') {
          sendJson(res, 200, leaderAnswer('leader', self, { url: self, epoch: leaderEpoch ?? 0 }));
        } else full(req, res);
      };
    } else {
      server = await startHttpServer({ host: config.host, port: config.port, tls, ...handlerOptions });
    }
    logger.info(
      {
        url: server.url,
        port: server.port,
        database: db.kind,
        dataDir: config.dataDir,
        version: JOBMANAGER_VERSION,
      },
      ha ? `JobManager is the leader (epoch ${epoch})` : `JobManager listening on ${server.url}`,
    );
    let closing: Promise<void> | undefined;
    const stopMonitor = monitor;
    const ownJobs = jobs;
    const ownServer = server;
    const ownLease = lease;
    return {
      url: server.url,
      port: server.port,
      registry,
      jobs,
      adminTokenFile,
      close: () =>
        (closing ??= (async () => {
          hooks.signal?.removeEventListener('abort', onAbort);
          await ownServer.close();
          await stopMonitor.stop();
          await ownJobs.stop();
          // A clean stop hands the lease on at once (a lost one is not ours to release).
          await ownLease?.release().catch(() => undefined);
          await db.close();
          logger.info('JobManager stopped');
        })()),
    };
  } catch (err) {
    hooks.signal?.removeEventListener('abort', onAbort);
    await lease?.close();
    await server?.close();
    await monitor?.stop();
    await jobs?.stop();
    await db.close();
    throw err;
  }
}

/** The certificate and key of `--tls-cert` / `--tls-key`, read once; both or neither. */
async function readTls(config: JobManagerConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (config.tlsCert === undefined && config.tlsKey === undefined) return undefined;
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    throw new ConfigError(
      'Invalid configuration: --tls-cert and --tls-key go together (give both, or neither)',
    );
  }
  const read = (path: string, what: string): Promise<Buffer> =>
    readFile(path).catch((err: unknown) => {
      throw new ConfigError(`Cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    });
  return { cert: await read(config.tlsCert, 'certificate'), key: await read(config.tlsKey, 'key') };
}

/**
 * Entry point of `freshet-jobmanager` and `freshet jobmanager`: reads the
 * configuration, starts the JobManager and closes it cleanly on SIGINT or
 * SIGTERM. Resolves once it has stopped.
 *
 * @param argv - command-line arguments after the program name
 * @throws ConfigError for a bad setting (before anything starts)
 */
export async function main(argv: readonly string[]): Promise<void> {
  const invocation = loadJobManagerConfig(argv);
  if (invocation.help) {
    process.stdout.write(JOBMANAGER_USAGE);
    return;
  }
  // The last 1000 log lines, for the dashboard's JobManager page (`cluster.log`).
  const jobManagerLog = new OutputTails({ recordsPerJob: 1000, maxJobs: 1 });
  const logger = createLogger(
    invocation.config.logLevel,
    undefined,
    jobManagerLog.lineSink(JOBMANAGER_LOG, 'log'),
  );
  // Handle signals from the start: one that arrives while the database is
  // still opening waits for start-up to finish, then closes cleanly.
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const signalled = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      logger.info({ signal }, 'JobManager shutting down');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // A standby waiting for leadership stops waiting on a signal.
  const abort = new AbortController();
  void signalled.then(() => {
    abort.abort();
  });
  let onLost: ((reason: string) => void) | undefined;
  const lost = new Promise<string>((resolve) => {
    onLost = resolve;
  });
  try {
    let jobManager: JobManager;
    try {
      jobManager = await startJobManager(invocation.config, logger, jobManagerLog, {
        signal: abort.signal,
        onLeadershipLost: (reason) => onLost?.(reason),
      });
    } catch (err) {
      if (abort.signal.aborted) {
        logger.info('JobManager stopped while standing by');
        return;
      }
      throw err;
    }
    const lostReason = await Promise.race([signalled.then(() => undefined), lost]);
    await jobManager.close();
    // Exit non-zero: a supervisor starts it again, as a standby of the new leader.
    if (lostReason !== undefined) throw new Error(`JobManager lost its leadership: ${lostReason}`);
  } finally {
    process.off('SIGINT', onSignal!);
    process.off('SIGTERM', onSignal!);
  }
}
