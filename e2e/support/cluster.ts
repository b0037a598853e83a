import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Repository root (this file is e2e/support/cluster.ts). */
export const repoRoot = resolve(import.meta.dirname, '..', '..');
/** Where screenshots and process logs go (gitignored). */
export const artifactsDir = join(repoRoot, 'e2e', 'artifacts');

const JOBMANAGER_BIN = join(repoRoot, 'apps/jobmanager/dist/bin.js');
const TASKMANAGER_BIN = join(repoRoot, 'apps/taskmanager/dist/bin.js');
const NEXT_BIN = join(repoRoot, 'apps/web/node_modules/next/dist/bin/next');
const WEB_BUILD_ID = join(repoRoot, 'apps/web/.next/BUILD_ID');

/** What the tests learn about the cluster, passed from global setup through the environment. */
export interface ClusterInfo {
  webUrl: string;
  jobManagerUrl: string;
  taskManagerPids: number[];
  heartbeatTimeoutMs: number;
  database: 'pglite' | 'postgres';
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  taskManagers: number;
  slotsPerTaskManager: number;
  /** Passed to the JobManager as --heartbeat-timeout-ms. */
  heartbeatTimeoutMs: number;
  /** Admin URL of a real Postgres: a fresh database is created for the run and dropped after. */
  adminDatabaseUrl?: string | undefined;
}

/** A running cluster; `stop()` kills every process and removes its data. */
export interface RunningCluster {
  info: ClusterInfo;
  stop(): Promise<void>;
}

interface Started {
  name: string;
  child: ChildProcess;
}

/** A free TCP port on 127.0.0.1 (the OS picks; there is a small race, acceptable for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

function requireBuilt(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${what} is not built (${path} is missing). Run \`pnpm turbo run build\` (npm test does) first.`,
    );
  }
}

/**
 * Starts the real stack as child processes, each in its own process group:
 * a JobManager on a free port (fresh data directory, or a fresh Postgres
 * database), the TaskManagers, and the built dashboard (`next start`).
 * Waits until every TaskManager has registered and the dashboard answers.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  requireBuilt(JOBMANAGER_BIN, 'The JobManager');
  requireBuilt(TASKMANAGER_BIN, 'The TaskManager');
  requireBuilt(WEB_BUILD_ID, 'The dashboard');
  const logDir = join(artifactsDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const started: Started[] = [];
  const dataDir = await mkdtemp(join(tmpdir(), 'freshet-e2e-'));
  let database: { name: string; adminUrl: string } | undefined;

  const stop = async (): Promise<void> => {
    await stopAll(started);
    if (database) await dropDatabase(database.adminUrl, database.name);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const env: NodeJS.ProcessEnv = { ...process.env, FRESHET_LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    if (options.adminDatabaseUrl) {
      const name = `freshet_e2e_${process.pid}_${Date.now().toString(36)}`;
      await createDatabase(options.adminDatabaseUrl, name);
      database = { name, adminUrl: options.adminDatabaseUrl };
      env.DATABASE_URL = withDatabase(options.adminDatabaseUrl, name);
    }

    const jm = launch(
      started,
      'jobmanager',
      [
        JOBMANAGER_BIN,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--heartbeat-timeout-ms',
        String(options.heartbeatTimeoutMs),
      ],
      { env, logDir },
    );
    const listening = await waitForLine(jm, /JobManager listening on (http:\/\/[\w.:[\]-]+)/, 60_000);
    const jobManagerUrl = listening[1]!;

    const taskManagerPids: number[] = [];
    for (let i = 0; i < options.taskManagers; i++) {
      const tm = launch(
        started,
        `taskmanager-${i + 1}`,
        [TASKMANAGER_BIN, '--jobmanager', jobManagerUrl, '--slots', String(options.slotsPerTaskManager)],
        { env, logDir },
      );
      taskManagerPids.push(tm.pid!);
    }
    await waitUntil(
      `${options.taskManagers} TaskManagers to register`,
      async () => (await overview(jobManagerUrl))?.taskManagers.byStatus.OK === options.taskManagers,
      30_000,
      started,
    );

    const webUrl = await launchDashboard(started, 'web', jobManagerUrl, env, logDir);

    const db = (await overview(jobManagerUrl))?.jobManager.database ?? 'pglite';
    return {
      info: {
        webUrl,
        jobManagerUrl,
        taskManagerPids,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        database: db,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function launchDashboard(
  started: Started[],
  name: string,
  jobManagerUrl: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
): Promise<string> {
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  launch(started, name, [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(webPort)], {
    cwd: join(repoRoot, 'apps/web'),
    env: {
      ...env,
      FRESHET_JOBMANAGER_URL: jobManagerUrl,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
    },
    logDir,
  });
  await waitUntil(`the dashboard (${name})`, async () => (await fetch(`${webUrl}/`)).ok, 60_000, started);
  return webUrl;
}

/**
 * Starts one more dashboard server from the same build, pointed at
 * `jobManagerUrl` (for example one where nothing listens).
 */
export async function startDashboard(
  jobManagerUrl: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  requireBuilt(WEB_BUILD_ID, 'The dashboard');
  const logDir = join(artifactsDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const started: Started[] = [];
  try {
    const url = await launchDashboard(started, 'web-extra', jobManagerUrl, { ...process.env }, logDir);
    return { url, stop: () => stopAll(started) };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

interface OverviewShape {
  taskManagers: { byStatus: Record<string, number> };
  jobManager: { database: 'pglite' | 'postgres' };
}

async function overview(jobManagerUrl: string): Promise<OverviewShape | undefined> {
  const res = await fetch(`${jobManagerUrl}/trpc/cluster.overview`);
  if (!res.ok) return undefined;
  const body = (await res.json()) as { result?: { data?: OverviewShape } };
  return body.result?.data;
}

function launch(
  started: Started[],
  name: string,
  args: string[],
  { env, cwd = repoRoot, logDir }: { env: NodeJS.ProcessEnv; cwd?: string; logDir: string },
): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(logDir, `${name}.log`));
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  started.push({ name, child });
  return child;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolveLine, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen.slice(-20).join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      seen.push(line);
      const match = pattern.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveLine(match);
      }
    };
    for (const stream of [child.stdout, child.stderr])
      if (stream) createInterface({ input: stream }).on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `exited (${signal ?? `code ${code}`}) before ${pattern}; output:\n${seen.slice(-20).join('\n')}`,
        ),
      );
    });
  });
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  started: Started[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const dead = started.find((s) => !alive(s.child));
    if (dead)
      throw new Error(
        `${dead.name} exited while waiting for ${what}; see e2e/artifacts/logs/${dead.name}.log`,
      );
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError instanceof Error ? ` (${lastError.message})` : ''}`,
  );
}

async function stopAll(started: Started[]): Promise<void> {
  const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
    if (!alive(child) || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  for (const { child } of [...started].reverse()) signalGroup(child, 'SIGTERM');
  const deadline = Date.now() + 8_000;
  while (Date.now() < deadline && started.some((s) => alive(s.child))) await sleep(100);
  for (const { child } of started) {
    // Anything left in a group (including grandchildren) goes now.
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // group already gone
    }
  }
}

function withDatabase(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Environment variable that carries {@link ClusterInfo} from global setup to the tests. */
export const CLUSTER_ENV = 'FRESHET_E2E_CLUSTER';

/** The cluster global setup started (read in test workers). */
export function clusterInfo(): ClusterInfo {
  const raw = process.env[CLUSTER_ENV];
  if (!raw) throw new Error(`${CLUSTER_ENV} is not set: the cluster is started by e2e/global-setup.ts`);
  return JSON.parse(raw) as ClusterInfo;
}
