/**
 * A real Apache Kafka broker for tests: one KRaft node (broker and controller)
 * on loopback ports, run from Maven Central's jars.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  LOG4J2_PROPERTIES,
  NODE_ID,
  renderProperties,
  serverProperties,
  type KafkaPropertyValue,
} from './config.js';
import { classDataSharing, type ClassDataSharing } from './cds.js';
import { KafkaHarnessError, resolveKafkaJars, type KafkaJars, type ResolveKafkaJarsOptions } from './jars.js';
import { isProcessAlive, killQuietly, reap } from './reaper.js';

/** Options of {@link startKafkaBroker}. */
export interface KafkaBrokerOptions {
  /**
   * Maximum heap of the broker JVM (`-Xmx`).
   * @default '512m'
   */
  readonly heap?: string;
  /**
   * Extra or overriding `server.properties` entries, e.g. `{ 'num.partitions': 3 }`.
   * @default {}
   */
  readonly properties?: Readonly<Record<string, KafkaPropertyValue>>;
  /**
   * How long to wait for the broker to answer a metadata request.
   * @default 60000
   */
  readonly startTimeoutMs?: number;
  /**
   * How long `stop()` waits after SIGTERM before it sends SIGKILL.
   * @default 10000
   */
  readonly stopGraceMs?: number;
  /**
   * Extra JVM flags, after the harness's own (`-Xmx`, serial GC, C1 only), so
   * they win: a benchmark may want `['-XX:TieredStopAtLevel=4']` for the
   * optimizing compiler.
   * @default []
   */
  readonly jvmArgs?: readonly string[];
  /**
   * The `java` executable.
   * @default `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` on the PATH
   */
  readonly java?: string;
  /**
   * Where and how the jars are resolved.
   * @default {}
   */
  readonly jars?: ResolveKafkaJarsOptions;
}

/** A running test broker. Stop it with `stop()` or `await using`. */
export interface KafkaBroker extends AsyncDisposable {
  /** The client bootstrap address, `127.0.0.1:<port>`. */
  readonly bootstrapServers: string;
  /** The broker's log (standard output and error of the JVM). Removed by `stop()`. */
  readonly logFile: string;
  /** Process id of the broker JVM. */
  readonly pid: number;
  /**
   * Stops the JVM (SIGTERM, then SIGKILL after the grace period) and removes
   * the broker's directory. Idempotent, and bound: `afterAll(broker.stop)` works.
   */
  readonly stop: () => Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
/** Attempts with new ports when a port chosen as free was taken meanwhile. */
const PORT_ATTEMPTS = 3;

/**
 * Starts a single-node Kafka broker in a fresh temporary directory and waits
 * until it answers a metadata request. Resolves the jars first (once; later
 * calls reuse the cache).
 *
 * @example
 * ```ts
 * let broker: KafkaBroker;
 * beforeAll(async () => { broker = await startKafkaBroker(); });
 * afterAll(() => broker?.stop());
 * ```
 *
 * @throws {KafkaHarnessError} with code `JAVA_NOT_FOUND`, `JAVA_TOO_OLD`,
 *   `MAVEN_NOT_FOUND`, `MAVEN_CENTRAL_UNREACHABLE`, `MAVEN_FAILED`,
 *   `BROKER_START_FAILED` or `BROKER_START_TIMEOUT`; the last two name the log file.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const java = options.java ?? defaultJava();
  const jars = await resolveKafkaJars(options.jars);
  const root = await mkdtemp(join(tmpdir(), 'freshet-kafka-'));
  try {
    return await startIn(root, java, jars, options);
  } catch (error) {
    // A start-up failure names a log file inside `root`: keep it to be read.
    if (!(error instanceof KafkaHarnessError && error.message.includes(root))) {
      await rm(root, { recursive: true, force: true });
    }
    throw error;
  }
}

async function startIn(
  root: string,
  java: string,
  jars: KafkaJars,
  options: KafkaBrokerOptions,
): Promise<KafkaBroker> {
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const jvm = [
    `-Xmx${options.heap ?? '512m'}`,
    // Serial GC: the least memory and threads on a small, shared machine.
    '-XX:+UseSerialGC',
    // C1 only: starts in about half the time of the default tiered
    // compilation when the cores are busy, and a test broker is never hot.
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(root, 'log4j2.properties')}`,
    ...(options.jvmArgs ?? []),
    // Listed, not `dir/*`: a class data sharing archive records the classpath,
    // and a wildcard expands in directory order, which is not guaranteed.
    '-cp',
    jars.jars.join(delimiter),
  ];
  await writeFile(join(root, 'log4j2.properties'), LOG4J2_PROPERTIES);

  const deadline = Date.now() + startTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    const [brokerPort, controllerPort] = await freePorts();
    const dataDir = join(root, 'data');
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir);
    const config = join(root, 'server.properties');
    await writeFile(
      config,
      renderProperties(serverProperties({ brokerPort, controllerPort, dataDir }, options.properties)),
    );
    const logFile = join(root, 'broker.log');

    const cds = classDataSharing(`${jars.dir}.jsa`, root);
    try {
      await formatStorage(java, [...jvm, ...cds.toolArgs], config, join(root, 'format.log'), deadline);
    } catch (error) {
      // What is kept of a failed start is its log, not its data.
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }

    const child = spawnJvm(java, [...jvm, ...cds.brokerArgs, 'kafka.Kafka', config], logFile);
    // A running broker must not keep the test process alive; the reaper
    // kills it when that process exits.
    child.unref();
    const pid = await spawned(child, java);
    const guard = reap(pid, root);
    const bootstrapServers = `127.0.0.1:${brokerPort}`;
    const stop = stopper(child, root, options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, cds, () => {
      guard.disarm();
    });

    const outcome = await awaitReady(child, bootstrapServers, deadline);
    if (outcome === 'ready') {
      return { bootstrapServers, logFile, pid, stop, [Symbol.asyncDispose]: stop };
    }
    // Keep the log for the error message; drop the data and the process.
    guard.disarm();
    await terminate(child, 2_000);
    await cds.finish(false);
    await rm(dataDir, { recursive: true, force: true });
    const log = readTail(logFile);
    if (outcome === 'exited' && /BindException|Address already in use/.test(log) && attempt < PORT_ATTEMPTS) {
      continue;
    }
    if (outcome === 'exited') {
      throw new KafkaHarnessError(
        'BROKER_START_FAILED',
        `The Kafka broker exited during start-up (exit code ${child.exitCode ?? child.signalCode}); see ${logFile}:\n${log}`,
      );
    }
    throw new KafkaHarnessError(
      'BROKER_START_TIMEOUT',
      `The Kafka broker did not answer a metadata request on ${bootstrapServers} within ` +
        `${Math.round(startTimeoutMs / 1000)} s; see ${logFile}:\n${log}`,
    );
  }
}

function defaultJava(): string {
  const home = process.env.JAVA_HOME?.trim();
  return home ? join(home, 'bin', 'java') : 'java';
}

/** Two ports that were free a moment ago on 127.0.0.1 (the caller retries when one is taken). */
async function freePorts(): Promise<[number, number]> {
  const servers = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            resolve(server);
          });
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  });
  await Promise.all(
    servers.map(
      (s) =>
        new Promise((resolve) => {
          s.close(resolve);
        }),
    ),
  );
  return [ports[0]!, ports[1]!];
}

/** A random KRaft cluster id: 16 random bytes in URL-safe base64, not starting with '-' (as Kafka's own). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function spawnJvm(java: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'w');
  try {
    return spawn(java, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

/** The child's pid once it has started, or the reason it could not. */
function spawned(child: ChildProcess, java: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => {
      resolve(child.pid!);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new KafkaHarnessError(
              'JAVA_NOT_FOUND',
              `Java ('${java}') is not installed or not on the PATH; the Kafka test broker needs Java 17 or newer ` +
                '(Debian: apt-get install openjdk-17-jre-headless, or set JAVA_HOME).',
              { cause: error },
            )
          : error,
      );
    });
  });
}

/** `kafka-storage.sh format --standalone`: a fresh KRaft log directory with this node as the only voter. */
async function formatStorage(
  java: string,
  jvm: string[],
  config: string,
  logFile: string,
  deadline: number,
): Promise<void> {
  const child = spawnJvm(
    java,
    [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      clusterId(),
      '--config',
      config,
      '--standalone',
    ],
    logFile,
  );
  await spawned(child, java);
  const exit = await Promise.race([
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    }),
    sleep(Math.max(1, deadline - Date.now()), 'timeout' as const, { ref: false }),
  ]);
  if (exit === 0) return;
  killQuietly(child.pid, 'SIGKILL');
  const log = readTail(logFile);
  if (/UnsupportedClassVersionError/.test(log)) {
    throw new KafkaHarnessError(
      'JAVA_TOO_OLD',
      `Java ('${java}') is too old for Kafka's broker, which needs Java 17 or newer; set JAVA_HOME to a newer JDK. See ${logFile}`,
    );
  }
  throw new KafkaHarnessError(
    'BROKER_START_FAILED',
    exit === 'timeout'
      ? `Formatting the Kafka storage did not finish in time; see ${logFile}:\n${log}`
      : `Formatting the Kafka storage failed (exit code ${exit}); see ${logFile}:\n${log}`,
  );
}

/**
 * Polls with a metadata request until the broker lists itself, the JVM exits,
 * or the deadline passes.
 */
async function awaitReady(
  child: ChildProcess,
  bootstrapServers: string,
  deadline: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => {
    exited = true;
  });
  const kafka = new Kafka({
    clientId: 'freshet-kafka-testing',
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  while (!exited) {
    if (Date.now() > deadline) return 'timeout';
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.some((b) => b.nodeId === NODE_ID)) return 'ready';
    } catch {
      // Not listening yet, or still starting.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(100);
  }
  return 'exited';
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  killQuietly(child.pid, 'SIGTERM');
  const timer = new AbortController();
  const inTime = await Promise.race([
    exited.then(() => true),
    sleep(graceMs, false, { signal: timer.signal }).catch(() => false),
  ]);
  // A pending grace timer would keep the test process alive for its length.
  timer.abort();
  if (!inTime) {
    killQuietly(child.pid, 'SIGKILL');
    await exited;
  }
}

function stopper(
  child: ChildProcess,
  root: string,
  graceMs: number,
  cds: ClassDataSharing,
  disarm: () => void,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      disarm();
      await terminate(child, graceMs);
      // Belt and braces for the "no leftover process" promise: the pid must be gone.
      if (child.pid !== undefined && isProcessAlive(child.pid)) killQuietly(child.pid, 'SIGKILL');
      await cds.finish(child.signalCode !== 'SIGKILL');
      await rm(root, { recursive: true, force: true });
    })());
}

/** The last lines of a log, for an error message. */
function readTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
