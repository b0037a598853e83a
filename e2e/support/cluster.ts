import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, ProcessGroup, type EnvOverrides } from '@freshet/launcher';
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
  /** The JobManager's first admin token (from its data directory), for calls the tests make directly. */
  adminToken: string;
  taskManagerPids: number[];
  /** The JobManager's join secret file, for TaskManagers a test starts itself ({@link startTaskManager}). */
  joinSecretFile: string;
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

/** Re-exported for the tests: a free port on 127.0.0.1. */
export { freePort };

/** Where each process's output goes: `e2e/artifacts/logs/<name>.log`. */
const logDir = join(artifactsDir, 'logs');
/** SIGTERM to SIGKILL at teardown. */
const GRACE_MS = 8_000;

function requireBuilt(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${what} is not built (${path} is missing). Run \`pnpm turbo run build\` (npm test does) first.`,
    );
  }
}

/** A group of the stack's processes, each in its own process group, logging to `logDir`. */
function stackGroup(env: EnvOverrides): ProcessGroup {
  return new ProcessGroup({
    bins: { jobManager: JOBMANAGER_BIN, taskManager: TASKMANAGER_BIN },
    cwd: repoRoot,
    env,
    logs: { dir: logDir, retain: 1_000 },
    graceMs: GRACE_MS,
  });
}

/**
 * Starts the real stack as child processes, each in its own process group:
 * a JobManager on a free port (fresh data directory, or a fresh Postgres
 * database), the TaskManagers, and the built dashboard (`next start`).
 * Waits until every TaskManager has registered and the dashboard answers.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  requireBuilt(WEB_BUILD_ID, 'The dashboard');
  let database: { adminUrl: string; name: string } | undefined;
  if (options.adminDatabaseUrl) {
    database = {
      adminUrl: options.adminDatabaseUrl,
      name: `freshet_e2e_${process.pid}_${Date.now().toString(36)}`,
    };
    await createDatabase(database.adminUrl, database.name);
  }
  const group = stackGroup({
    FRESHET_LOG_LEVEL: 'info',
    DATABASE_URL: database ? withDatabase(database.adminUrl, database.name) : undefined,
  });
  if (database) {
    const { adminUrl, name } = database;
    group.defer(() => dropDatabase(adminUrl, name));
  }
  const stop = (): Promise<void> => group.dispose();

  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'freshet-e2e-'));
    group.defer(() => rm(dataDir, { recursive: true, force: true }));
    const jm = await group.startJobManager({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    });
    const jobManagerUrl = jm.url;
    const tms = await Promise.all(
      Array.from({ length: options.taskManagers }, () =>
        group.startTaskManager({
          jobManagerUrl,
          slots: options.slotsPerTaskManager,
          // The specs' jobs read inputs the specs write under the OS temp directory, and
          // examples/async/enrich.ts calls a customer service on loopback.
          args: ['--task-files', tmpdir(), '--task-network', 'host'],
        }),
      ),
    );
    const adminToken = jm.adminToken;
    await group.waitUntil(
      `${options.taskManagers} TaskManagers to register`,
      async () =>
        (await overview(jobManagerUrl, adminToken))?.taskManagers.byStatus.OK === options.taskManagers,
      30_000,
    );

    const webUrl = await launchDashboard(group, 'web', jobManagerUrl);

    const db = (await overview(jobManagerUrl, adminToken))?.jobManager.database ?? 'pglite';
    return {
      info: {
        webUrl,
        jobManagerUrl,
        adminToken,
        taskManagerPids: tms.map((tm) => tm.pid),
        joinSecretFile: jm.joinSecretFile,
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

async function launchDashboard(group: ProcessGroup, name: string, jobManagerUrl: string): Promise<string> {
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  group.launch({
    name,
    bin: NEXT_BIN,
    args: ['start', '--hostname', '127.0.0.1', '--port', String(webPort)],
    cwd: join(repoRoot, 'apps/web'),
    env: { FRESHET_JOBMANAGER_URL: jobManagerUrl, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
  });
  await group.waitUntil(`the dashboard (${name})`, async () => (await fetch(`${webUrl}/`)).ok, 60_000);
  return webUrl;
}

/** A TaskManager a test started: `kill()` is kill -9, `dispose()` stops it if it still runs. */
export interface ExtraTaskManager {
  /** Its id at the JobManager (`/taskmanagers/<id>`). */
  id: string;
  kill(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Starts one more TaskManager joining the running cluster (as the shared
 * ones do: task files under the OS temp directory, host network), for a
 * test that kills one without taking the other tests' TaskManagers.
 * `name` names its log file under `e2e/artifacts/logs`.
 */
export async function startTaskManager(
  info: ClusterInfo,
  name: string,
  slots: number,
): Promise<ExtraTaskManager> {
  const group = stackGroup({ FRESHET_LOG_LEVEL: 'info' });
  try {
    const tm = await group.startTaskManager({
      name,
      jobManagerUrl: info.jobManagerUrl,
      joinSecretFile: info.joinSecretFile,
      slots,
      args: ['--task-files', tmpdir(), '--task-network', 'host'],
    });
    return {
      id: tm.taskManagerId,
      kill: async () => {
        await tm.kill();
      },
      dispose: () => group.dispose(),
    };
  } catch (err) {
    await group.dispose();
    throw err;
  }
}

/**
 * Starts one more dashboard server from the same build, pointed at
 * `jobManagerUrl` (for example one where nothing listens).
 */
export async function startDashboard(
  jobManagerUrl: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  requireBuilt(WEB_BUILD_ID, 'The dashboard');
  const group = stackGroup({});
  try {
    const url = await launchDashboard(group, 'web-extra', jobManagerUrl);
    return { url, stop: () => group.dispose() };
  } catch (err) {
    await group.dispose();
    throw err;
  }
}

interface OverviewShape {
  taskManagers: { byStatus: Record<string, number> };
  jobManager: { database: 'pglite' | 'postgres' };
}

async function overview(jobManagerUrl: string, token: string): Promise<OverviewShape | undefined> {
  const res = await fetch(`${jobManagerUrl}/trpc/cluster.overview`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { result?: { data?: OverviewShape } };
  return body.result?.data;
}

/**
 * Calls a JobManager procedure directly (not through the dashboard) with
 * `token`; returns the HTTP status and the parsed body.
 */
export async function callJobManager(
  jobManagerUrl: string,
  token: string | undefined,
  path: string,
  input: unknown = {},
  kind: 'query' | 'mutation' = 'mutation',
): Promise<{
  status: number;
  body: { result?: { data?: unknown }; error?: { message: string; data?: { code?: string } } };
}> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const res =
    kind === 'mutation'
      ? await fetch(`${jobManagerUrl}/trpc/${path}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(input),
        })
      : await fetch(`${jobManagerUrl}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
          headers,
        });
  return { status: res.status, body: (await res.json()) as never };
}

/** A one-time dashboard login link for `token`'s role: `<webUrl>/auth/login?code=…`. */
export async function loginLink(info: ClusterInfo, token = info.adminToken): Promise<string> {
  const { body } = await callJobManager(info.jobManagerUrl, token, 'auth.createLoginCode');
  const code = (body.result?.data as { code: string }).code;
  return `${info.webUrl}/auth/login?code=${encodeURIComponent(code)}`;
}

/** Where global setup keeps the signed-in browser state every test starts from. */
export const STORAGE_STATE = join(artifactsDir, 'storage-state.json');

/**
 * Signs in as admin the way a person does — the one-time login link — and
 * saves the session cookie as Playwright storage state for the tests.
 */
export async function signIn(info: ClusterInfo): Promise<void> {
  const res = await fetch(await loginLink(info), { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const value = /freshet_session=([^;]+)/.exec(setCookie)?.[1];
  if (res.status !== 303 || value === undefined)
    throw new Error(`Signing in through the login link failed: HTTP ${res.status} ${setCookie}`);
  const expires = Date.parse(/Expires=([^;]+)/i.exec(setCookie)?.[1] ?? '') / 1000;
  const state = {
    cookies: [
      {
        name: 'freshet_session',
        value,
        domain: new URL(info.webUrl).hostname,
        path: '/',
        expires: Number.isFinite(expires) ? expires : -1,
        httpOnly: true,
        secure: false,
        sameSite: 'Strict' as const,
      },
    ],
    origins: [],
  };
  await mkdir(artifactsDir, { recursive: true });
  await writeFile(STORAGE_STATE, JSON.stringify(state, null, 2));
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
