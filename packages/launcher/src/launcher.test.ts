import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LaunchError, ProcessGroup, type ExitStatus, type ManagedProcess } from './index.js';

// A small real program the tests start: it logs pino-style JSON lines and
// reacts to its arguments (a grandchild in its group, SIGTERM ignored, ticks,
// an early exit).
const CHILD = `
import { spawn } from 'node:child_process';
const args = process.argv.slice(2);
const log = (msg, fields = {}) => process.stdout.write(JSON.stringify({ level: 30, msg, ...fields }) + '\\n');
if (args.includes('--exit')) {
  process.stderr.write('bad configuration\\n');
  process.exit(3);
}
if (args.includes('--grandchild')) {
  const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  log('grandchild started', { grandchild: g.pid });
}
process.on('SIGTERM', () => {
  if (args.includes('--ignore-term')) return log('ignoring SIGTERM');
  log('stopping');
  process.exit(0);
});
let tick = 0;
if (args.includes('--ticks')) setInterval(() => log('tick', { tick: ++tick }), 20);
else setInterval(() => {}, 1000);
process.stdout.write('plain text line\\n');
log('child ready', { secret: process.env.LAUNCHER_SECRET ?? null, home: process.env.LAUNCHER_REMOVED ?? null });
`;

let dir: string;
let bin: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'freshet-launcher-test-'));
  bin = join(dir, 'child.mjs');
  await writeFile(bin, CHILD);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ProcessGroup', () => {
  it('passes the environment, reads, forwards and writes the logs', async () => {
    process.env.LAUNCHER_REMOVED = 'inherited';
    const terminal = new PassThrough();
    let forwarded = '';
    terminal.setEncoding('utf8').on('data', (c: string) => (forwarded += c));
    await using group = new ProcessGroup({
      env: { LAUNCHER_SECRET: 's3cret', LAUNCHER_REMOVED: undefined },
      logs: { forward: terminal, dir: join(dir, 'logs') },
    });
    const p = group.launch({ name: 'child', bin });
    const ready = await p.waitForLog('child ready');
    delete process.env.LAUNCHER_REMOVED;
    expect(ready).toMatchObject({ level: 30, secret: 's3cret', home: null });
    expect(p.logs.map((l) => l.msg)).toEqual(['plain text line', 'child ready']);
    expect(p.logs[0]!.level).toBe(0);
    expect(forwarded).toContain('[child] plain text line\n');
    expect(forwarded).toContain('[child] INFO  child ready\n');
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    const file = await readFile(join(dir, 'logs', 'child.log'), 'utf8');
    expect(file).toContain('plain text line\n');
    expect(file).toContain('"msg":"stopping"');
  });

  it('stops with SIGTERM, then SIGKILLs the whole process group after the grace period', async () => {
    await using group = new ProcessGroup({ graceMs: 300 });
    const p = group.launch({ bin, args: ['--grandchild', '--ignore-term'] });
    const { grandchild } = await p.waitForLog('grandchild started');
    await p.waitForLog('child ready');
    expect(alive(Number(grandchild))).toBe(true);
    const started = Date.now();
    expect(await p.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(p.logs.map((l) => l.msg)).toContain('ignoring SIGTERM');
    await until(() => !alive(Number(grandchild)));
    expect(p.crashed).toBe(false);
  });

  it('pauses and resumes a process (SIGSTOP / SIGCONT)', async () => {
    await using group = new ProcessGroup();
    const p = group.launch({ bin, args: ['--ticks'] });
    await p.waitForLog('tick');
    p.pause();
    expect(p.paused).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const frozen = p.lineCount;
    await new Promise((r) => setTimeout(r, 200));
    expect(p.lineCount).toBe(frozen);
    p.resume();
    await p.waitForLog('tick', 5_000, frozen);
    expect(p.running).toBe(true);
  });

  it('tells a crash from a stop', async () => {
    const crashes: [ManagedProcess, ExitStatus][] = [];
    await using group = new ProcessGroup({ onUnexpectedExit: (p, status) => crashes.push([p, status]) });
    const bad = group.launch({ name: 'bad', bin, args: ['--exit'] });
    expect(await bad.exited).toEqual({ code: 3, signal: null });
    expect(bad.stderr).toBe('bad configuration\n');
    await expect(bad.waitForLog('child ready')).rejects.toThrow(
      /bad \(pid \d+\) exited \(code 3\) before logging "child ready"/,
    );
    await until(() => crashes.length === 1);
    expect(crashes[0]![0]).toBe(bad);

    const victim = group.launch({ name: 'victim', bin });
    await victim.waitForLog('child ready');
    process.kill(victim.pid, 'SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    expect(victim.crashed).toBe(true);
    await until(() => crashes.length === 2);
    await expect(group.waitUntil('nothing', () => Promise.resolve(false), 5_000)).rejects.toThrow(
      LaunchError,
    );

    const stopped = group.launch({ name: 'stopped', bin });
    await stopped.waitForLog('child ready');
    expect((await stopped.kill()).signal).toBe('SIGKILL');
    expect(stopped.crashed).toBe(false);
    expect(crashes).toHaveLength(2);
  });

  it('restarts a process behind the same handle', async () => {
    await using group = new ProcessGroup();
    const p = group.launch({ bin });
    await p.waitForLog('child ready');
    const firstPid = p.pid;
    const mark = p.lineCount;
    await p.restart();
    await p.waitForLog('child ready', 5_000, mark);
    expect(p.starts).toBe(2);
    expect(p.pid).not.toBe(firstPid);
    expect(alive(firstPid)).toBe(false);
    expect(p.logs.filter((l) => l.msg === 'child ready')).toHaveLength(2);
  });

  it('keeps the newest lines when told to, counting every line', async () => {
    await using group = new ProcessGroup({ logs: { retain: 5 } });
    const p = group.launch({ bin, args: ['--ticks'] });
    const line = await p.waitForLog((l) => l.tick === 30);
    expect(line.tick).toBe(30);
    expect(p.logs.length).toBeLessThanOrEqual(10);
    expect(p.lineCount).toBeGreaterThanOrEqual(32);
  });

  it('stops everything and runs the cleanups on dispose', async () => {
    const cleaned: string[] = [];
    let pids: number[];
    {
      await using group = new ProcessGroup({ killOnDispose: true });
      group.defer(() => cleaned.push('first'));
      group.defer(() => cleaned.push('second'));
      const ps = [group.launch({ bin }), group.launch({ bin, args: ['--ignore-term'] })];
      await Promise.all(ps.map((p) => p.waitForLog('child ready')));
      pids = ps.map((p) => p.pid);
    }
    expect(cleaned).toEqual(['second', 'first']);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('needs the daemons’ bins to start them', async () => {
    const group = new ProcessGroup();
    await expect(group.startJobManager()).rejects.toThrow(/no bins.jobManager/);
    await expect(group.startTaskManager()).rejects.toThrow(/no jobManagerUrl/);
    const missing = new ProcessGroup({ bins: { jobManager: join(dir, 'missing.js') } });
    await expect(missing.startJobManager()).rejects.toThrow(/missing\.js is missing: build first/);
  });
});

describe('freePort', () => {
  it('returns a port nothing listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
