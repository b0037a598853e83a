/**
 * The TaskManager's settings (`freshet-taskmanager`, `freshet taskmanager`).
 * Adding a setting is adding an entry here: the TaskManager's configuration
 * type, its parser, `--help` and the README's table follow.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { JOIN_SECRET_TYPE } from './join-secret.js';
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
          .refine(
            (s) =>
              s.split(',').every((u) => {
                const url = u.trim();
                return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
              }),
            {
              message:
                'must be an http:// or https:// URL of the JobManager, e.g. http://127.0.0.1:8081 (several, comma-separated, for a highly available cluster)',
            },
          )
          .transform((s) =>
            s
              .split(',')
              .map((u) => u.trim().replace(/\/+$/, ''))
              .join(','),
          ),
      })
      .defaultValue('http://127.0.0.1:8081')
      .withDescription(
        'base URL of the JobManager to register with; several, comma-separated, for a highly available cluster (the TaskManager follows the leader)',
      ),
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
    maxFrameBytes: key('--max-frame-bytes <n>')
      .env('FRESHET_TASKMANAGER_MAX_FRAME_BYTES')
      .intType(1024, 256 * 1024 * 1024 - 1)
      .defaultValue(64 * 1024 * 1024)
      .withDescription('largest data-plane frame accepted from a peer, in bytes'),
    handshakeTimeoutMs: key('--handshake-timeout-ms <ms>')
      .env('FRESHET_TASKMANAGER_HANDSHAKE_TIMEOUT_MS')
      .intType(50, 600_000)
      .defaultValue(10_000)
      .withDescription('time an incoming data connection has to send its handshake'),
    maxPendingHandshakes: key('--max-pending-handshakes <n>')
      .env('FRESHET_TASKMANAGER_MAX_PENDING_HANDSHAKES')
      .intType(1, 100_000)
      .defaultValue(64)
      .withDescription(
        'incoming data connections that have not completed the handshake; more are closed at once',
      ),
    dataTlsCert: key('--data-tls-cert <file>')
      .env('FRESHET_TASKMANAGER_DATA_TLS_CERT')
      .pathType()
      .noDefaultValue('plain TCP')
      .withDescription(
        'PEM certificate (chain) of this TaskManager for mutual TLS on the data plane, naming --host in its subjectAltName; needs --data-tls-key and --data-tls-ca',
      ),
    dataTlsKey: key('--data-tls-key <file>')
      .env('FRESHET_TASKMANAGER_DATA_TLS_KEY')
      .pathType()
      .noDefaultValue('plain TCP')
      .withDescription('PEM private key of --data-tls-cert'),
    dataTlsCa: key('--data-tls-ca <file>')
      .env('FRESHET_TASKMANAGER_DATA_TLS_CA')
      .pathType()
      .noDefaultValue('plain TCP')
      .withDescription(
        "PEM CA certificate(s) that sign the cluster's data-plane certificates; only peers with one are accepted or dialed",
      ),
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
    joinSecret: key('--join-secret <secret>')
      .env('FRESHET_JOIN_SECRET')
      .type(JOIN_SECRET_TYPE)
      .noDefaultValue('--join-secret-file')
      .withDescription(
        'the cluster join secret to register with (prefer the file or the variable: flags show in ps)',
      ),
    joinSecretFile: key('--join-secret-file <file>')
      .env('FRESHET_JOIN_SECRET_FILE')
      .pathType()
      .noDefaultValue('./.freshet/join-secret when it exists (the JobManager default)')
      .withDescription("file holding the cluster join secret (the JobManager's <data-dir>/join-secret)"),
    taskIsolation: key('--task-isolation <mode>')
      .env('FRESHET_TASK_ISOLATION')
      .enumType(['auto', 'permission-only', 'threads'] as const)
      .defaultValue('auto')
      .withDescription(
        'where user code runs: a sandboxed child process per job (auto: bubblewrap when it works; permission-only: without it), or threads: worker threads of the TaskManager itself (no isolation)',
      ),
    taskNetwork: key('--task-network <mode>')
      .env('FRESHET_TASK_NETWORK')
      .enumType(['none', 'host'] as const)
      .defaultValue('none')
      .withDescription(
        "the network tasks see under bubblewrap: none, or the host's (connectors to brokers and sockets)",
      ),
    taskFiles: key('--task-files <dirs>')
      .env('FRESHET_TASK_FILES')
      .type<string[]>({
        placeholder: '<dirs>',
        schema: z
          .string()
          .trim()
          .transform((text) =>
            text
              .split(',')
              .map((d) => d.trim())
              .filter((d) => d.length > 0),
          ),
        finish: (dirs: string[], { cwd }) => dirs.map((d) => resolve(cwd, d)),
      })
      .defaultValue([], 'none')
      .withDescription('comma-separated directories tasks may read and write (file sources and sinks)'),
    slotHeapMiB: key('--slot-heap-mib <n>')
      .env('FRESHET_SLOT_HEAP_MIB')
      .intType(16, 1_048_576)
      .defaultValue(512)
      .withDescription("V8 heap limit of each slot's worker thread, in MiB"),
    taskMemoryMiB: key('--task-memory-mib <n>')
      .env('FRESHET_TASK_MEMORY_MIB')
      .intType(64, 16_777_216)
      .noDefaultValue('2 × slot heap × slots of the job here + 256')
      .withDescription("resident-memory limit of one job's process, in MiB; beyond it the job fails"),
    taskWatchdogMs: key('--task-watchdog-ms <ms>')
      .env('FRESHET_TASK_WATCHDOG_MS')
      .intType(0, 86_400_000)
      .defaultValue(60_000)
      .withDescription(
        'a user function that has not returned for this long fails its job, naming the operator; 0 turns the watchdog off',
      ),
    partitionMemoryMiB: key('--partition-memory-mib <n>')
      .env('FRESHET_PARTITION_MEMORY_MIB')
      .intType(0, 1_048_576)
      .defaultValue(64)
      .withDescription(
        "memory for a staged BATCH job's blocking result partitions, in MiB; beyond it they spill to <data-dir>/work/partitions",
      ),
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
