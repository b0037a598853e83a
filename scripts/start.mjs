#!/usr/bin/env node
// `npm start`: install, build, then run a whole local cluster — a JobManager
// (embedded PGlite under .freshet/ unless DATABASE_URL is set), one TaskManager
// with two slots, and the dashboard — forwarding their logs with a prefix.
// Ctrl-C (SIGINT) or SIGTERM stops every process this script started.
//
// Node built-ins only: this must run on a machine with nothing but Node and npm.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAll, ensureInstalled, findPnpm, log, repoRoot, toolEnv } from './lib/workspace.mjs';

const HOST = '127.0.0.1';
const jobManagerPort = Number(process.env.FRESHET_JOBMANAGER_PORT ?? 8081);
const webPort = Number(process.env.FRESHET_WEB_PORT ?? 3000);
const taskManagerSlots = Number(process.env.FRESHET_TASKMANAGER_SLOTS ?? 2);
const dataDir = process.env.FRESHET_DATA_DIR ?? join(repoRoot, '.freshet');
const jobManagerUrl = `http://${HOST}:${jobManagerPort}`;
const webUrl = `http://${HOST}:${webPort}`;

const parts = {
  jobmanager: join(repoRoot, 'apps/jobmanager/dist/bin.js'),
  taskmanager: join(repoRoot, 'apps/taskmanager/dist/bin.js'),
  web: join(repoRoot, 'apps/web/.next/BUILD_ID'),
};
const nextBin = join(repoRoot, 'apps/web/node_modules/next/dist/bin/next');

const COLORS = { jobmanager: 36, taskmanager: 33, web: 35 };
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;

/** @type {{ name: string, child: import('node:child_process').ChildProcess }[]} */
const children = [];
let shuttingDown = false;

function prefix(name) {
  const label = `[${name}]`.padEnd(14);
  return useColor ? `\x1b[${COLORS[name] ?? 37}m${label}\x1b[0m` : label;
}

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const QUIET_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg', 'v']);

/** One pino JSON log line as `12:00:01 INFO  message key=value`; anything else unchanged. */
function readable(line) {
  if (!line.startsWith('{')) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.msg !== 'string') return line;
  const time =
    typeof entry.time === 'number' || typeof entry.time === 'string' ? new Date(entry.time) : new Date();
  const clock = Number.isNaN(time.getTime()) ? '' : `${time.toTimeString().slice(0, 8)} `;
  const fields = Object.entries(entry)
    .filter(([key]) => !QUIET_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${clock}${LEVELS[entry.level] ?? 'INFO '} ${entry.msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`;
}

/** Start a Node process in its own process group and forward its output with a prefix. */
function launch(name, args, { cwd = repoRoot, env = {} } = {}) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...toolEnv(), ...env },
    detached: true, // own process group: we stop it (and anything it spawns) as a unit
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) =>
      process.stdout.write(`${prefix(name)} ${readable(line)}\n`),
    );
  }
  child.on('exit', (code, signal) => {
    if (shuttingDown) return;
    log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the cluster`);
    void shutdown(1);
  });
  children.push({ name, child });
  return child;
}

function killGroup(child, signal) {
  // SIGKILL goes to the group even after the leader exited: it reaps leftovers.
  if (signal !== 'SIGKILL' && (child.exitCode !== null || child.signalCode !== null)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Stop every started process group: SIGTERM, then SIGKILL after a grace period. */
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  log('stopping…');
  // Reverse start order, one at a time: the dashboard, then the TaskManagers
  // (so they deregister while the JobManager still listens), then the JobManager.
  for (const { name, child } of [...children].reverse()) {
    killGroup(child, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) await sleep(50);
    if (child.exitCode === null && child.signalCode === null) log(`${name} did not stop in time; killing it`);
    killGroup(child, 'SIGKILL'); // also reaps anything left in its group
  }
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
// Last resort if this script dies of an exception: do not leave orphans.
process.on('exit', () => {
  for (const { child } of children) killGroup(child, 'SIGKILL');
});

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Poll `check` until it returns true or the timeout elapses. */
async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (shuttingDown) return false;
    try {
      if (await check()) return true;
    } catch {
      // not up yet
    }
    await sleep(300);
  }
  log(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
  return false;
}

async function httpOk(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

/** The admin token the JobManager wrote to its data directory on its first start, if it is there. */
function adminToken() {
  try {
    return readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Headers that authenticate with the admin token. */
function adminHeaders() {
  const token = adminToken();
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * A one-time login link for the dashboard (as Jupyter prints one): the
 * JobManager mints a code valid for 15 minutes, which the dashboard's server
 * trades for a session once, so no token lands in the browser's history.
 */
async function loginLink() {
  const res = await fetch(`${jobManagerUrl}/trpc/auth.createLoginCode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...adminHeaders() },
    body: '{}',
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) return undefined;
  const code = (await res.json())?.result?.data?.code;
  return typeof code === 'string' ? `${webUrl}/auth/login?code=${encodeURIComponent(code)}` : undefined;
}

/** Number of registered TaskManagers, read from the JobManager's tRPC API. */
async function registeredTaskManagers() {
  const res = await fetch(`${jobManagerUrl}/trpc/taskManagers.list`, {
    headers: adminHeaders(),
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) return 0;
  const body = await res.json();
  const data = body?.result?.data;
  const list = Array.isArray(data) ? data : (data?.taskManagers ?? data?.items ?? []);
  return list.length;
}

async function main() {
  const pnpm = findPnpm();
  if ((await ensureInstalled(pnpm)) !== 0) {
    log('pnpm install failed; see the output above');
    process.exit(1);
  }
  if ((await buildAll(pnpm, { quiet: true })) !== 0) {
    log('some packages failed to build (see above); starting the parts that are built');
  }

  const missing = Object.entries(parts)
    .filter(([, path]) => !existsSync(path))
    .map(([name]) => name);
  if (missing.length > 0) log(`not built, so not started: ${missing.join(', ')}`);
  if (missing.length === Object.keys(parts).length) {
    log('nothing to start');
    process.exit(1);
  }

  for (const [name, port, envName] of [
    ['JobManager', jobManagerPort, 'FRESHET_JOBMANAGER_PORT'],
    ['dashboard', webPort, 'FRESHET_WEB_PORT'],
  ]) {
    if (!(await portFree(port))) {
      log(
        `port ${port} for the ${name} is in use (is Freshet already running?); set ${envName} to use another port`,
      );
      process.exit(1);
    }
  }

  if (existsSync(parts.jobmanager)) {
    launch('jobmanager', [
      parts.jobmanager,
      '--host',
      HOST,
      '--port',
      String(jobManagerPort),
      '--data-dir',
      dataDir,
    ]);
    if (!(await waitFor('the JobManager', () => httpOk(`${jobManagerUrl}/healthz`), 90_000)))
      return shutdown(1);
  }
  if (existsSync(parts.taskmanager)) {
    launch('taskmanager', [
      parts.taskmanager,
      '--jobmanager',
      jobManagerUrl,
      '--slots',
      String(taskManagerSlots),
      // The JobManager created it on its first start (mode 0600); without it the registration is refused.
      '--join-secret-file',
      join(dataDir, 'join-secret'),
    ]);
    if (existsSync(parts.jobmanager)) {
      await waitFor('the TaskManager to register', async () => (await registeredTaskManagers()) >= 1, 30_000);
    }
  }
  if (existsSync(parts.web)) {
    launch('web', [nextBin, 'start', '--hostname', HOST, '--port', String(webPort)], {
      cwd: join(repoRoot, 'apps/web'),
      env: { FRESHET_JOBMANAGER_URL: jobManagerUrl, NODE_ENV: 'production' },
    });
    if (!(await waitFor('the dashboard', () => httpOk(`${webUrl}/`), 60_000))) return shutdown(1);
  }

  if (shuttingDown) return;
  const dashboard = existsSync(parts.web) ? `dashboard ${webUrl}` : 'dashboard not built';
  const jm = existsSync(parts.jobmanager) ? `JobManager ${jobManagerUrl}` : 'JobManager not built';
  process.stdout.write(`Freshet is running: ${dashboard}  (${jm})\n`);
  if (existsSync(parts.jobmanager)) {
    const link = existsSync(parts.web) ? await loginLink().catch(() => undefined) : undefined;
    if (link !== undefined)
      process.stdout.write(`Sign in to the dashboard (one-time link, 15 minutes):\n    ${link}\n`);
    process.stdout.write(
      `Admin API token: ${join(dataDir, 'admin-token')} (pnpm freshet login --token \"$(cat ${join(dataDir, 'admin-token')})\"; a new link: pnpm freshet login-link)\n`,
    );
  }
  log('press Ctrl-C to stop');
}

main().catch((err) => {
  log(`start failed: ${err instanceof Error ? err.stack : String(err)}`);
  void shutdown(1);
});
