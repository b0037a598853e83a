/**
 * The TaskManager's settings (`freshet-taskmanager`, `freshet taskmanager`).
 * Adding a setting is adding an entry here: the TaskManager's configuration
 * type, its parser, `--help` and the README's table follow.
 */
import { z } from 'zod';
import { LOG_LEVELS } from './log-levels.js';
import { key } from './setting.js';
import { defineSettings, type ConfigOf } from './settings.js';

/** Every setting of the TaskManager. */
export const TASKMANAGER_SETTINGS = defineSettings({
  command: 'freshet-taskmanager',
  summary:
    'Starts a TaskManager: opens its data port, registers with the JobManager,\nheartbeats, and re-registers by itself when the JobManager restarts.',
  settings: {
    jobManagerUrl: key('--jobmanager <url>')
      .env('FRESHET_JOBMANAGER_URL')
      .type({
        placeholder: '<url>',
        schema: z
          .string()
          .trim()
          .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
            message: 'must be an http:// or https:// URL of the JobManager, e.g. http://127.0.0.1:8081',
          })
          .transform((s) => s.replace(/\/+$/, '')),
      })
      .defaultValue('http://127.0.0.1:8081')
      .withDescription('base URL of the JobManager to register with'),
    jobManagerCaFile: key('--jobmanager-ca <file>')
      .env('FRESHET_JOBMANAGER_CA_FILE')
      .pathType()
      .noDefaultValue("the system's CAs")
      .withDescription('PEM CA certificate(s) to trust for an https:// JobManager, besides the system ones'),
    slots: key('--slots <n>')
      .env('FRESHET_TASKMANAGER_SLOTS')
      .intType(1, 1024)
      .defaultValue(1)
      .withDescription('task slots offered, one worker thread each'),
    host: key('--host <host>')
      .env('FRESHET_TASKMANAGER_HOST')
      .stringType()
      .defaultValue('127.0.0.1')
      .withDescription('address the data port listens on and is announced as'),
    dataPort: key('--data-port <port>')
      .env('FRESHET_TASKMANAGER_DATA_PORT')
      .intType(0, 65535)
      .defaultValue(0)
      .withDescription('data-plane TCP port, 0 picks a free one'),
    resourceId: key('--resource-id <id>')
      .env('FRESHET_TASKMANAGER_RESOURCE_ID')
      .type({
        placeholder: '<id>',
        schema: z
          .string()
          .trim()
          .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"'),
      })
      .noDefaultValue('random per process')
      .withDescription('stable id of this TaskManager, kept across reconnects'),
    dataDir: key('--data-dir <dir>')
      .env('FRESHET_TASKMANAGER_DATA_DIR')
      .stringType()
      .noDefaultValue('a temporary directory per process')
      .withDescription('where program bundles are cached'),
    metricsPort: key('--metrics-port <port>')
      .env('FRESHET_TASKMANAGER_METRICS_PORT')
      .intType(0, 65535)
      .noDefaultValue('no metrics endpoint')
      .withDescription('port of the Prometheus endpoint GET /metrics on --host, 0 picks a free one'),
    logLevel: key('--log-level <level>')
      .env('FRESHET_LOG_LEVEL')
      .enumType(LOG_LEVELS)
      .defaultValue('info')
      .withDescription('how much to log'),
  },
});

/** The TaskManager's validated configuration. */
export type TaskManagerConfig = ConfigOf<typeof TASKMANAGER_SETTINGS>;
