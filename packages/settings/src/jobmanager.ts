/**
 * The JobManager's settings (`freshet-jobmanager`, `freshet jobmanager`).
 * Adding a setting is adding an entry here: the JobManager's configuration
 * type, its parser, `--help` and the README's table follow.
 */
import { z } from 'zod';
import { LOG_LEVELS } from './log-levels.js';
import { key } from './setting.js';
import { defineSettings, type ConfigOf } from './settings.js';

/** Every setting of the JobManager. */
export const JOBMANAGER_SETTINGS = defineSettings({
  command: 'freshet-jobmanager',
  summary:
    'Starts the JobManager: the tRPC API at /trpc, GET /healthz, and the TaskManager\nhealth monitor.',
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
    uploadLimitBytes: key('--upload-limit-bytes <n>')
      .env('FRESHET_UPLOAD_LIMIT_BYTES')
      .intType(1024, 2 ** 31)
      .defaultValue(10 * 1024 * 1024)
      .withDescription('largest program upload accepted, in bytes'),
    slotRequestTimeoutMs: key('--slot-request-timeout-ms <ms>')
      .env('FRESHET_SLOT_REQUEST_TIMEOUT_MS')
      .intType(0, 3_600_000)
      .defaultValue(30_000)
      .withDescription('how long a job waits for free task slots before it fails'),
    planTimeoutMs: key('--plan-timeout-ms <ms>')
      .env('FRESHET_PLAN_TIMEOUT_MS')
      .intType(100, 600_000)
      .defaultValue(10_000)
      .withDescription('time a program may take to build its graph in plan mode'),
    logLevel: key('--log-level <level>')
      .env('FRESHET_LOG_LEVEL')
      .enumType(LOG_LEVELS)
      .defaultValue('info')
      .withDescription('how much to log'),
  },
});

/** The JobManager's validated configuration. */
export type JobManagerConfig = ConfigOf<typeof JOBMANAGER_SETTINGS>;
