import { z } from 'zod';
import { parseSettingFlags, parseSettings, type SettingSource } from '@freshet/protocol';

/** Log levels the TaskManager understands (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intSetting = (min: number, max: number) =>
  z
    .string()
    .trim()
    .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max, {
      message: `must be an integer ${min}-${max}`,
    })
    .transform(Number);

const configSchema = z.object({
  jobManagerUrl: z
    .string()
    .trim()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
      message: 'must be an http:// or https:// URL of the JobManager, e.g. http://127.0.0.1:8081',
    })
    .transform((s) => s.replace(/\/+$/, ''))
    .default('http://127.0.0.1:8081'),
  slots: intSetting(1, 1024).default(1),
  host: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  dataPort: intSetting(0, 65535).default(0),
  resourceId: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"')
    .optional(),
  dataDir: z.string().trim().min(1, 'must not be empty').optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

/** The TaskManager's validated configuration. */
export type TaskManagerConfig = z.output<typeof configSchema>;

/** Flag and environment variable of each setting. Flags win. */
export const TASKMANAGER_SETTINGS: { readonly [K in keyof TaskManagerConfig]-?: SettingSource } = {
  jobManagerUrl: { flag: '--jobmanager', env: 'FRESHET_JOBMANAGER_URL' },
  slots: { flag: '--slots', env: 'FRESHET_TASKMANAGER_SLOTS' },
  host: { flag: '--host', env: 'FRESHET_TASKMANAGER_HOST' },
  dataPort: { flag: '--data-port', env: 'FRESHET_TASKMANAGER_DATA_PORT' },
  resourceId: { flag: '--resource-id', env: 'FRESHET_TASKMANAGER_RESOURCE_ID' },
  dataDir: { flag: '--data-dir', env: 'FRESHET_TASKMANAGER_DATA_DIR' },
  logLevel: { flag: '--log-level', env: 'FRESHET_LOG_LEVEL' },
};

/** `--help` text of `freshet-taskmanager` and `freshet taskmanager`. */
export const TASKMANAGER_USAGE = `Usage: freshet-taskmanager [options]

Starts a TaskManager: opens its data port, registers with the JobManager,
heartbeats, and re-registers by itself when the JobManager restarts.
Flags win over environment variables.

Options:
  --jobmanager <url>     JobManager base URL (env FRESHET_JOBMANAGER_URL, default http://127.0.0.1:8081)
  --slots <n>            task slots offered, 1-1024 (env FRESHET_TASKMANAGER_SLOTS, default 1)
  --host <host>          address the data port listens on and is announced as (env FRESHET_TASKMANAGER_HOST, default 127.0.0.1)
  --data-port <port>     data-plane TCP port, 0 picks a free one (env FRESHET_TASKMANAGER_DATA_PORT, default 0)
  --resource-id <id>     stable id of this TaskManager (env FRESHET_TASKMANAGER_RESOURCE_ID, default: random per process)
  --data-dir <dir>       where program bundles are cached (env FRESHET_TASKMANAGER_DATA_DIR, default: a temporary directory per process)
  --log-level <level>    ${LOG_LEVELS.join('|')} (env FRESHET_LOG_LEVEL, default info)
  -h, --help             show this help
`;

/** Result of reading the command line: either a request for help or a configuration. */
export type TaskManagerInvocation = { help: true } | { help: false; config: TaskManagerConfig };

/**
 * Reads the TaskManager's configuration once, from flags and the environment.
 *
 * @param argv - command-line arguments after the program name
 * @param env - environment variables @default process.env
 * @throws ConfigError (from `@freshet/protocol`) naming the bad setting
 */
export function loadTaskManagerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): TaskManagerInvocation {
  const { help, flags } = parseSettingFlags(TASKMANAGER_SETTINGS, argv);
  if (help) return { help: true };
  return { help: false, config: parseSettings(configSchema, TASKMANAGER_SETTINGS, flags, env) };
}
