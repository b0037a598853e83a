/**
 * The JobManager's settings (`freshet-jobmanager`, `freshet jobmanager`).
 * Adding a setting is adding an entry here: the JobManager's configuration
 * type, its parser, `--help` and the README's table follow.
 */
import { z } from 'zod';
import { parseRestartStrategy, RESTART_STRATEGY_SYNTAX, type RestartStrategySpec } from '@freshet/graph';
import { JOIN_SECRET_TYPE } from './join-secret.js';
import { LOG_LEVELS } from './log-levels.js';
import { key } from './setting.js';
import { defineSettings, type ConfigOf } from './settings.js';

/** Every setting of the JobManager. */
export const JOBMANAGER_SETTINGS = defineSettings({
  command: 'freshet-jobmanager',
  summary: 'Starts the JobManager: the tRPC API at /trpc, GET /healthz, and the TaskManager\nhealth monitor.',
  settings: {
    host: key('--host <host>')
      .env('FRESHET_JOBMANAGER_HOST')
      .stringType()
      .defaultValue('127.0.0.1')
      .withDescription('address to listen on'),
    port: key('--port <port>')
      .env('FRESHET_JOBMANAGER_PORT')
      .intType(0, 65535)
      .defaultValue(8081)
      .withDescription('port to listen on, 0 picks a free one'),
    dataDir: key('--data-dir <dir>')
      .env('FRESHET_DATA_DIR')
      .pathType()
      .defaultValue('./.freshet')
      .withDescription('data directory: the embedded database and the uploaded programs'),
    databaseUrl: key('--database-url <url>')
      .env('DATABASE_URL')
      .type({
        placeholder: '<url>',
        schema: z
          .string()
          .trim()
          .refine((url) => /^postgres(ql)?:\/\/.+/.test(url), {
            message: 'must be a postgres:// or postgresql:// connection URL',
          }),
      })
      .noDefaultValue('embedded PGlite under the data directory')
      .withDescription('Postgres connection URL of the metadata database'),
    heartbeatTimeoutMs: key('--heartbeat-timeout-ms <ms>')
      .env('FRESHET_HEARTBEAT_TIMEOUT_MS')
      .intType(200, 3_600_000)
      .defaultValue(10_000)
      .withDescription('a TaskManager silent this long is LOST, LATE at half'),
    highAvailability: key('--high-availability <mode>')
      .env('FRESHET_HIGH_AVAILABILITY')
      .enumType(['none', 'database'] as const)
      .defaultValue('none')
      .withDescription(
        'database: run as one of several JobManagers on one Postgres (DATABASE_URL) and one shared --data-dir; the lease holder leads, the others stand by',
      ),
    haLeaseMs: key('--ha-lease-ms <ms>')
      .env('FRESHET_HA_LEASE_MS')
      .intType(300, 60_000)
      .defaultValue(3000)
      .withDescription(
        'with --high-availability database: how long the leader lease lasts unrenewed (a standby takes over about this long after the leader dies)',
      ),
    uploadLimitBytes: key('--upload-limit-bytes <n>')
      .env('FRESHET_UPLOAD_LIMIT_BYTES')
      .intType(1024, 2 ** 31)
      .defaultValue(10 * 1024 * 1024)
      .withDescription('largest program upload accepted, in bytes'),
    projectMaxFiles: key('--project-max-files <n>')
      .env('FRESHET_PROJECT_MAX_FILES')
      .intType(1, 1_000_000)
      .defaultValue(20_000)
      .withDescription('most files an uploaded project (a folder, several files or an archive) may have'),
    projectMaxBytes: key('--project-max-bytes <n>')
      .env('FRESHET_PROJECT_MAX_BYTES')
      .intType(1024, 2 ** 31)
      .defaultValue(100 * 1024 * 1024)
      .withDescription("largest total size of an uploaded project's files, unpacked, in bytes"),
    slotRequestTimeoutMs: key('--slot-request-timeout-ms <ms>')
      .env('FRESHET_SLOT_REQUEST_TIMEOUT_MS')
      .intType(0, 3_600_000)
      .defaultValue(30_000)
      .withDescription('how long a job waits for free task slots before it fails'),
    cancelTimeoutMs: key('--cancel-timeout-ms <ms>')
      .env('FRESHET_CANCEL_TIMEOUT_MS')
      .intType(100, 600_000)
      .defaultValue(10_000)
      .withDescription('how long TaskManagers have to confirm a cancellation before it is assumed'),
    checkpointIntervalMs: key('--checkpoint-interval-ms <ms>')
      .env('FRESHET_CHECKPOINT_INTERVAL_MS')
      .intType(0, 86_400_000)
      .defaultValue(0)
      .withDescription('checkpoint interval of jobs that configure no checkpointing themselves, 0 for none'),
    checkpointTimeoutMs: key('--checkpoint-timeout-ms <ms>')
      .env('FRESHET_CHECKPOINT_TIMEOUT_MS')
      .intType(1, 86_400_000)
      .defaultValue(600_000)
      .withDescription('with the interval above: a checkpoint not complete after this long is aborted'),
    checkpointMinPauseMs: key('--checkpoint-min-pause-ms <ms>')
      .env('FRESHET_CHECKPOINT_MIN_PAUSE_MS')
      .intType(0, 86_400_000)
      .defaultValue(0)
      .withDescription('with the interval above: least time between the end of one checkpoint and the next'),
    checkpointTolerableFailures: key('--checkpoint-tolerable-failures <n>')
      .env('FRESHET_CHECKPOINT_TOLERABLE_FAILURES')
      .intType(-1, 1_000_000)
      .defaultValue(-1)
      .withDescription(
        'with the interval above: consecutive failed checkpoints tolerated, -1 for any number',
      ),
    checkpointsRetained: key('--checkpoints-retained <n>')
      .env('FRESHET_CHECKPOINTS_RETAINED')
      .intType(1, 1000)
      .defaultValue(3)
      .withDescription('with the interval above: completed checkpoints kept per job'),
    restartStrategy: key('--restart-strategy <spec>')
      .env('FRESHET_RESTART_STRATEGY')
      .type({
        placeholder: '<spec>',
        schema: z.string().transform((text, ctx): RestartStrategySpec => {
          try {
            return parseRestartStrategy(text);
          } catch (err) {
            ctx.addIssue({
              code: 'custom',
              message: `must be ${RESTART_STRATEGY_SYNTAX} (${(err as Error).message})`,
            });
            return z.NEVER;
          }
        }),
      })
      .noDefaultValue('exponential-delay with checkpointing, else none')
      .withDescription('restart strategy of jobs that set none themselves'),
    planTimeoutMs: key('--plan-timeout-ms <ms>')
      .env('FRESHET_PLAN_TIMEOUT_MS')
      .intType(100, 600_000)
      .defaultValue(10_000)
      .withDescription('time a program may take to build its graph in plan mode'),
    maxJobParallelism: key('--max-job-parallelism <n>')
      .env('FRESHET_MAX_JOB_PARALLELISM')
      .intType(1, 4096)
      .defaultValue(256)
      .withDescription('highest parallelism a job vertex may have; plans above it are refused'),
    compileConcurrency: key('--compile-concurrency <n>')
      .env('FRESHET_COMPILE_CONCURRENCY')
      .intType(1, 64)
      .defaultValue(2)
      .withDescription('uploads compiled at the same time'),
    compileQueue: key('--compile-queue <n>')
      .env('FRESHET_COMPILE_QUEUE')
      .intType(0, 10_000)
      .defaultValue(8)
      .withDescription('uploads waiting to compile; beyond that an upload gets 429 with Retry-After'),
    planConcurrency: key('--plan-concurrency <n>')
      .env('FRESHET_PLAN_CONCURRENCY')
      .intType(1, 64)
      .defaultValue(2)
      .withDescription('plan-mode sandboxes running at the same time'),
    planQueue: key('--plan-queue <n>')
      .env('FRESHET_PLAN_QUEUE')
      .intType(0, 10_000)
      .defaultValue(32)
      .withDescription('plans and submits waiting for a sandbox; beyond that they get 429 with Retry-After'),
    maxBatchSize: key('--max-batch-size <n>')
      .env('FRESHET_MAX_BATCH_SIZE')
      .intType(1, 1000)
      .defaultValue(10)
      .withDescription('most calls one batched tRPC request may carry; larger batches get 400'),
    collectLimitPerJob: key('--collect-limit-per-job <n>')
      .env('FRESHET_COLLECT_LIMIT_PER_JOB')
      .intType(0, 10_000_000)
      .defaultValue(10_000)
      .withDescription("records of a job's collect sinks kept, over all its collect ids"),
    collectLimitTotal: key('--collect-limit-total <n>')
      .env('FRESHET_COLLECT_LIMIT_TOTAL')
      .intType(0, 100_000_000)
      .defaultValue(200_000)
      .withDescription('collected records kept in memory over all running jobs'),
    collectLimitBytes: key('--collect-limit-bytes <n>')
      .env('FRESHET_COLLECT_LIMIT_BYTES')
      .intType(0, 2 ** 40)
      .defaultValue(64 * 1024 * 1024)
      .withDescription('bytes (as JSON) of collected records kept in memory over all running jobs'),
    outputRecordsPerJob: key('--output-records-per-job <n>')
      .env('FRESHET_OUTPUT_RECORDS_PER_JOB')
      .intType(1, 100_000)
      .defaultValue(1000)
      .withDescription(
        "newest records of a job's sinks kept for its live output (the dashboard's Output tab)",
      ),
    finishedJobLingerMs: key('--finished-job-linger-ms <ms>')
      .env('FRESHET_FINISHED_JOB_LINGER_MS')
      .intType(0, 3_600_000)
      .defaultValue(10_000)
      .withDescription(
        'how long an ended job stays in memory for late reports before only the database holds it',
      ),
    tlsCert: key('--tls-cert <file>')
      .env('FRESHET_JOBMANAGER_TLS_CERT')
      .pathType()
      .noDefaultValue('plain HTTP')
      .withDescription('PEM certificate (chain) to serve the API over HTTPS; needs --tls-key'),
    tlsKey: key('--tls-key <file>')
      .env('FRESHET_JOBMANAGER_TLS_KEY')
      .pathType()
      .noDefaultValue('plain HTTP')
      .withDescription('PEM private key of --tls-cert'),
    joinSecret: key('--join-secret <secret>')
      .env('FRESHET_JOIN_SECRET')
      .type(JOIN_SECRET_TYPE)
      .noDefaultValue('--join-secret-file')
      .withDescription(
        'the cluster join secret TaskManagers register with (prefer the file or the variable: flags show in ps)',
      ),
    joinSecretFile: key('--join-secret-file <file>')
      .env('FRESHET_JOIN_SECRET_FILE')
      .pathType()
      .noDefaultValue('<data-dir>/join-secret, created (mode 0600) when missing')
      .withDescription('file holding the cluster join secret'),
    logLevel: key('--log-level <level>')
      .env('FRESHET_LOG_LEVEL')
      .enumType(LOG_LEVELS)
      .defaultValue('info')
      .withDescription('how much to log'),
  },
});

/** The JobManager's validated configuration. */
export type JobManagerConfig = ConfigOf<typeof JOBMANAGER_SETTINGS>;
