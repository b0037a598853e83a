import { resolve } from 'node:path';
import { z } from 'zod';
import { parseSettingFlags, parseSettings, type SettingSource } from '@freshet/protocol';

/** Log levels the JobManager understands (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intSetting = (min: number, max: number) =>
  z
    .string()
    .trim()
    .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max, {
      message: `must be an integer ${min}-${max}`,
    })
    .transform(Number);

/** Creates the schema; `cwd` anchors the default and relative data directories. */
function configSchema(cwd: string) {
  return z.object({
    host: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
    port: intSetting(0, 65535).default(8081),
    dataDir: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .transform((dir) => resolve(cwd, dir))
      .default(resolve(cwd, '.freshet')),
    databaseUrl: z
      .string()
      .trim()
      .refine((url) => /^postgres(ql)?:\/\/.+/.test(url), {
        message: 'must be a postgres:// or postgresql:// connection URL',
      })
      .optional(),
    heartbeatTimeoutMs: intSetting(200, 3_600_000).default(10_000),
    uploadLimitBytes: intSetting(1024, 2 ** 31).default(10 * 1024 * 1024),
    slotRequestTimeoutMs: intSetting(0, 3_600_000).default(30_000),
    planTimeoutMs: intSetting(100, 600_000).default(10_000),
    logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  });
}

/** The JobManager's validated configuration. */
export type JobManagerConfig = z.output<ReturnType<typeof configSchema>>;

/** Flag and environment variable of each setting. Flags win. */
export const JOBMANAGER_SETTINGS: { readonly [K in keyof JobManagerConfig]-?: SettingSource } = {
  host: { flag: '--host', env: 'FRESHET_JOBMANAGER_HOST' },
  port: { flag: '--port', env: 'FRESHET_JOBMANAGER_PORT' },
  dataDir: { flag: '--data-dir', env: 'FRESHET_DATA_DIR' },
  databaseUrl: { flag: '--database-url', env: 'DATABASE_URL' },
  heartbeatTimeoutMs: { flag: '--heartbeat-timeout-ms', env: 'FRESHET_HEARTBEAT_TIMEOUT_MS' },
  uploadLimitBytes: { flag: '--upload-limit-bytes', env: 'FRESHET_UPLOAD_LIMIT_BYTES' },
  slotRequestTimeoutMs: { flag: '--slot-request-timeout-ms', env: 'FRESHET_SLOT_REQUEST_TIMEOUT_MS' },
  planTimeoutMs: { flag: '--plan-timeout-ms', env: 'FRESHET_PLAN_TIMEOUT_MS' },
  logLevel: { flag: '--log-level', env: 'FRESHET_LOG_LEVEL' },
};

/** `--help` text of `freshet-jobmanager` and `freshet jobmanager`. */
export const JOBMANAGER_USAGE = `Usage: freshet-jobmanager [options]

Starts the JobManager: the tRPC API at /trpc, GET /healthz, and the TaskManager
health monitor. Flags win over environment variables.

Options:
  --host <host>                 address to listen on (env FRESHET_JOBMANAGER_HOST, default 127.0.0.1)
  --port <port>                 port, 0 picks a free one (env FRESHET_JOBMANAGER_PORT, default 8081)
  --data-dir <dir>              data directory, holds the embedded database (env FRESHET_DATA_DIR, default ./.freshet)
  --database-url <url>          Postgres URL; absent = embedded PGlite under the data directory (env DATABASE_URL)
  --heartbeat-timeout-ms <ms>   a TaskManager silent this long is LOST, LATE at half (env FRESHET_HEARTBEAT_TIMEOUT_MS, default 10000)
  --upload-limit-bytes <n>      largest program upload accepted (env FRESHET_UPLOAD_LIMIT_BYTES, default 10485760)
  --slot-request-timeout-ms <ms>  how long a job waits for free task slots before it fails (env FRESHET_SLOT_REQUEST_TIMEOUT_MS, default 30000)
  --plan-timeout-ms <ms>        time a program may take to build its graph in plan mode (env FRESHET_PLAN_TIMEOUT_MS, default 10000)
  --log-level <level>           ${LOG_LEVELS.join('|')} (env FRESHET_LOG_LEVEL, default info)
  -h, --help                    show this help
`;

/** Result of reading the command line: either a request for help or a configuration. */
export type JobManagerInvocation = { help: true } | { help: false; config: JobManagerConfig };

/**
 * Reads the JobManager's configuration once, from flags and the environment.
 *
 * @param argv - command-line arguments after the program name
 * @param env - environment variables @default process.env
 * @param cwd - directory relative paths are resolved against @default process.cwd()
 * @throws ConfigError (from `@freshet/protocol`) naming the bad setting
 */
export function loadJobManagerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): JobManagerInvocation {
  const { help, flags } = parseSettingFlags(JOBMANAGER_SETTINGS, argv);
  if (help) return { help: true };
  return { help: false, config: parseSettings(configSchema(cwd), JOBMANAGER_SETTINGS, flags, env) };
}
