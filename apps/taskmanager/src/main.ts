import { randomUUID } from 'node:crypto';
import type { RegisterTaskManagerOutput } from '@freshet/protocol';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTrusting } from '@freshet/jobmanager/client';
import { JobManagerEndpoints } from '@freshet/protocol';
import { DataPlane } from '@freshet/runtime';
import { CommandStream } from './commands.js';
import { readDataPlaneTls } from './data-plane-tls.js';
import { createControlPlaneClient } from './control-client.js';
import { Deployments } from './deployments.js';
import { Reporter } from './reporter.js';
import { loadTaskManagerConfig, TASKMANAGER_USAGE, type TaskManagerConfig } from './env.js';
import { HealthSampler } from './health.js';
import { resolveJoinSecret } from './join-secret.js';
import { startMetricsEndpoint } from './prometheus.js';
import { LeaderFence } from './fence.js';
import { createLogger, type Logger } from './logger.js';
import { OutputCapture } from './output-capture.js';
import { ControlSession } from './session.js';
import { taskSandbox } from './task-sandbox.js';

/** The TaskManager's version, from its package.json. */
export const TASKMANAGER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A running TaskManager. */
export interface TaskManager {
  /** Stable id under which it registers. */
  readonly resourceId: string;
  /** The data-plane port it announced. */
  readonly dataPort: number;
  /** Port of the Prometheus endpoint, when `--metrics-port` is set. */
  readonly metricsPort: number | undefined;
  /** Resolves with the first session; rejects if the JobManager refuses the registration or the TaskManager stops first. */
  readonly registered: Promise<RegisterTaskManagerOutput>;
  /** Directory holding cached bundles. */
  readonly dataDir: string;
  /** Cancels running jobs (reporting CANCELED), deregisters, stops heartbeating, closes the data port. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a TaskManager: opens its data port, then registers with the
 * JobManager in the background (retrying with backoff until it answers) and
 * heartbeats. Returns at once; await `registered` to know it joined.
 *
 * @param output - the process's captured stdout, stderr and log, shipped to
 *   the JobManager for the dashboard (`main` captures them; tests that start
 *   several TaskManagers in one process leave it out)
 */
export async function startTaskManager(
  config: TaskManagerConfig,
  logger: Logger = createLogger(config.logLevel),
  output?: OutputCapture,
): Promise<TaskManager> {
  // Every request to an https:// JobManager (control plane, commands stream, bundles) trusts the configured CA.
  if (config.jobManagerCaFile !== undefined) globalThis.fetch = fetchTrusting(config.jobManagerCaFile);
  const resourceId = config.resourceId ?? randomUUID();
  const joinSecret = resolveJoinSecret(config);
  const tls = readDataPlaneTls(config);
  const data = await DataPlane.listen({
    host: config.host,
    port: config.dataPort,
    maxFramePayload: config.maxFrameBytes,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    maxPendingHandshakes: config.maxPendingHandshakes,
    ...(tls === undefined ? {} : { tls }),
    onRefused: ({ peer, reason }) => {
      logger.warn({ peer, reason }, `Refused a data connection from ${peer}: ${reason}`);
    },
  });
  const ownDataDir = config.dataDir === undefined;
  const dataDir = config.dataDir ?? (await mkdtemp(join(tmpdir(), 'freshet-tm-')));
  await mkdir(dataDir, { recursive: true });
  logger.info(
    { host: data.host, dataPort: data.port, tls: data.tls },
    `TaskManager data port listening on ${data.host}:${data.port}${data.tls ? ' (mutual TLS)' : ''}`,
  );
  const sandbox = taskSandbox(config, dataDir);
  logger.info(`Task sandbox: ${sandbox.description}`);
  const health = new HealthSampler();
  // One JobManager, or several of a highly available cluster (comma-separated): calls follow the leader.
  const endpoints = new JobManagerEndpoints(config.jobManagerUrl);
  const fence = new LeaderFence(logger);
  const client = createControlPlaneClient(endpoints);
  // eslint-disable-next-line prefer-const -- the session and its consumers refer to each other
  let session: ControlSession;
  const currentSession = (): RegisterTaskManagerOutput | undefined => session.current;
  const reporter = new Reporter({ client, logger, session: currentSession, output });
  const metricsEndpoint =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsEndpoint({
          host: config.host,
          port: config.metricsPort,
          samples: () => reporter.latestSamples(),
          logger,
        });
  if (metricsEndpoint !== undefined) {
    logger.info(
      { metricsPort: metricsEndpoint.port },
      `Prometheus metrics at http://${config.host}:${metricsEndpoint.port}/metrics`,
    );
  }
  const deployments = new Deployments({
    // Read at each use: bundles and checkpoint state come from the leader of the moment.
    get jobManagerUrl() {
      return endpoints.current;
    },
    dataDir,
    dataPlane: data,
    reporter,
    logger,
    session: currentSession,
    launcher: sandbox.launcher,
    partitionMemoryBytes: config.partitionMemoryMiB * 1024 * 1024,
    onStopped: () => {
      session.heartbeatSoon();
    },
  });
  const commands = new CommandStream({
    client,
    logger,
    onCommand: (command) => {
      // A watched edge's tap is renewed every few seconds: not worth an info line each time.
      logger[command.type === 'tapEdge' ? 'debug' : 'info'](
        {
          command: command.type,
          ...(command.type === 'reregister'
            ? { reason: command.reason }
            : command.type === 'deploy'
              ? { jobId: command.deployment.jobId, attempt: command.deployment.attempt }
              : 'jobId' in command
                ? { jobId: command.jobId }
                : {}),
        },
        `Command ${command.type}`,
      );
      if (command.type === 'reregister') session.reregister();
      else deployments.handle(command);
    },
    onSessionRefused: () => {
      session.reregister();
    },
    admit: (epoch, what) => fence.admit(epoch, what),
  });
  session = new ControlSession({
    client,
    registration: {
      resourceId,
      host: config.host,
      dataPort: data.port,
      slots: config.slots,
      version: TASKMANAGER_VERSION,
      pid: process.pid,
      ...(joinSecret === undefined ? {} : { joinSecret }),
    },
    health,
    logger,
    slotsUsed: () => deployments.slotsUsed,
    running: () => deployments.running(),
    lastCommandId: () => commands.lastCommandId,
    onSilent: () => {
      void deployments.cancelAll('no heartbeat reached the JobManager within its heartbeat timeout');
    },
    onSession: (s) => {
      if (!fence.admit(s.leaderEpoch, 'a session')) {
        // A deposed leader registered us: register again, with the next JobManager.
        endpoints.failed(endpoints.current);
        session.reregister();
        return;
      }
      data.taskManagerId = s.taskManagerId;
      commands.setSession(s);
    },
  });
  logger.info(
    { jobManager: config.jobManagerUrl, slots: config.slots, resourceId },
    'TaskManager registering',
  );
  const registered = session.start();
  // Callers that never await `registered` must not see an unhandled rejection.
  registered.catch(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    resourceId,
    dataPort: data.port,
    metricsPort: metricsEndpoint?.port,
    dataDir,
    registered,
    close: () =>
      (closing ??= (async () => {
        await deployments.drain();
        commands.stop();
        reporter.stop();
        await session.stop();
        health.stop();
        await metricsEndpoint?.close();
        await data.close();
        if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
        logger.info('TaskManager stopped');
      })()),
  };
}

/**
 * Entry point of `freshet-taskmanager` and `freshet taskmanager`: reads the
 * configuration, starts the TaskManager, and deregisters and stops on SIGINT
 * or SIGTERM. Resolves once it has stopped; rejects if the JobManager refuses
 * the registration.
 *
 * @param argv - command-line arguments after the program name
 * @throws ConfigError for a bad setting (before anything starts)
 */
export async function main(argv: readonly string[]): Promise<void> {
  const invocation = loadTaskManagerConfig(argv);
  if (invocation.help) {
    process.stdout.write(TASKMANAGER_USAGE);
    return;
  }
  // The process's own streams are captured (not in startTaskManager: tests start several TaskManagers in one process).
  const output = new OutputCapture();
  output.teeProcessStreams();
  const logger = createLogger(invocation.config.logLevel, output);
  const taskManager = await startTaskManager(invocation.config, logger, output);
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const signalled = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      logger.info({ signal }, 'TaskManager shutting down');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // Run until a signal, or until the JobManager refuses us for good.
  const failed = taskManager.registered.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  const outcome = await Promise.race([signalled.then(() => undefined), failed]);
  process.off('SIGINT', onSignal!);
  process.off('SIGTERM', onSignal!);
  await taskManager.close();
  if (outcome !== undefined) throw outcome;
}
