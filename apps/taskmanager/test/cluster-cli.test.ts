// `freshet cluster start`: separate processes, one URL line once all registered, Ctrl-C leaves nothing behind.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('freshet cluster start', () => {
  it('starts a JobManager and two TaskManagers, prints the URL, and stops them all on Ctrl-C', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'freshet-cluster-cli-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@freshet/source',
        'packages/cli/src/bin.ts',
        'cluster',
        'start',
        '--taskmanagers',
        '2',
        '--slots',
        '1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--task-network',
        'host',
      ],
      {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DATABASE_URL: undefined },
      },
    );
    cleanups.push(() => {
      try {
        process.kill(-cli.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    let out = '';
    cli.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    cli.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) =>
      cli.once('exit', (code) => {
        resolve(code);
      }),
    );
    const deadline = Date.now() + 60_000;
    while (!out.includes('Freshet cluster is running') && Date.now() < deadline && cli.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    const running =
      /Freshet cluster is running: JobManager (http:\/\/127\.0\.0\.1:\d+) with 2 TaskManagers × 1 slot/.exec(
        out,
      );
    expect(running, out).not.toBeNull();
    expect(out).toContain('[taskmanager-1] INFO  TaskManager registered as taskmanager-1');
    expect(out).toContain('[taskmanager-2] INFO  TaskManager registered as taskmanager-2');
    // --task-network reaches every TaskManager: their sandboxes keep the host's network.
    const sandboxes = out
      .split('\n')
      .filter((l) => l.includes('INFO  Task sandbox: a child process per job'));
    expect(sandboxes, out).toHaveLength(2);
    for (const line of sandboxes) expect(line).not.toContain(', net namespaces');
    const health = await fetch(`${running![1]!}/healthz`);
    expect(health.ok).toBe(true);
    // How to log in: the admin token's file, and a one-time dashboard link whose code works once.
    expect(out).toContain(`Admin token: ${join(dataDir, 'admin-token')}`);
    const code = /\/login\?code=(flc_[A-Za-z0-9_-]+)/.exec(out)?.[1];
    expect(code, out).toBeDefined();
    const redeem = (): Promise<Response> =>
      fetch(`${running![1]!}/trpc/auth.redeemLoginCode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    expect((await redeem()).status).toBe(200);
    expect((await redeem()).status).toBe(401);

    // The JobManager and TaskManagers are separate processes, each leading its own process group.
    const children = execFileSync('ps', ['-o', 'pid=,pgid=,args=', '--ppid', String(cli.pid)], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((l) => /(jobmanager|taskmanager)\/src\/bin\.ts/.test(l))
      .map((l) => l.trim().split(/\s+/).map(Number));
    expect(children).toHaveLength(3);
    for (const [pid, pgid] of children) expect(pgid).toBe(pid);

    process.kill(cli.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('[taskmanager-1] INFO  TaskManager deregistered');
    expect(out).toContain('[jobmanager] INFO  JobManager stopped');
    for (const [pid] of children) expect(alive(pid!)).toBe(false);
  });
});
