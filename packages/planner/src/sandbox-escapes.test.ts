// A hostile program in plan mode: each escape the issue found (reading the
// host's environment through /proc, signalling it, the network, spawning
// processes, files outside its directory) must fail, with bubblewrap and in
// the fallback without it, and the host must live on.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProgram } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { detectIsolation, type IsolationMode } from '@freshet/runtime';
import { PlanError, planInSandbox } from './sandbox.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'freshet-planner-escape-'));
let bundlePath: string;
let listener: Server;
let connections = 0;
let port = 0;

beforeAll(async () => {
  const result = await compileProgram(
    { path: join(fixtures, 'escape.ts') },
    { cacheDir: scratch, typecheck: false },
  );
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
  bundlePath = result.bundlePath;
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) =>
    listener.close(() => {
      r();
    }),
  );
  rmSync(scratch, { recursive: true, force: true });
});

/** The outcome the program reported (`ok:…` or `blocked:…`), or the plan's failure. */
async function outcome(mode: IsolationMode, attack: string, target = ''): Promise<string> {
  try {
    const { graph } = await planInSandbox(
      bundlePath,
      [attack, target],
      {},
      { isolation: mode, timeoutMs: 8000 },
    );
    return graph.config.name;
  } catch (err) {
    if (err instanceof PlanError) return `plan failed:${err.reason}`;
    throw err;
  }
}

const bwrapHere = detectIsolation('auto').bwrap !== undefined;
const root = process.getuid?.() === 0;

describe.each([
  ['bubblewrap', 'auto' as const, bwrapHere],
  ['the fallback without bubblewrap', 'permission-only' as const, true],
])('a plan-mode program under %s', (_name, mode, available) => {
  it.skipIf(!available)("cannot read its host's environment", async () => {
    process.env.FRESHET_TEST_SECRET = 'hunter2';
    try {
      const environ = await outcome(mode, 'environ');
      expect(environ).toMatch(/^blocked:/);
      expect(environ).not.toContain('PATH=');
      const env = await outcome(mode, 'env');
      expect(env).not.toContain('hunter2');
      expect(env).not.toContain('PATH');
    } finally {
      delete process.env.FRESHET_TEST_SECRET;
    }
  });

  it.skipIf(!available || (mode === 'permission-only' && !root))('cannot signal its host', async () => {
    const result = await outcome(mode, 'kill');
    if (mode === 'auto') {
      // Its parent is the sandbox's own init (pid 1 of its PID namespace), which ignores the signal.
      expect(await outcome(mode, 'ppid')).toBe('ok:1');
      expect(['ok:signalled', 'plan failed:crash']).toContain(result);
    } else {
      // As uid 65534 it may not signal a root host (EPERM).
      expect(result).toBe('blocked:EPERM');
    }
    // The host (the parent of the sandbox) lives on.
    expect(process.kill(process.pid, 0)).toBe(true);
  });

  it.skipIf(!available)('cannot start processes', async () => {
    expect(await outcome(mode, 'spawn')).toMatch(/^blocked:/);
  });

  it.skipIf(!available)('cannot read or write files outside its private directory', async () => {
    const secret = join(scratch, 'secret.txt');
    writeFileSync(secret, 'top secret');
    expect(await outcome(mode, 'read', secret)).toMatch(/^blocked:/);
    const target = join(scratch, 'escaped.txt');
    expect(await outcome(mode, 'write', target)).toMatch(/^blocked:/);
    expect(existsSync(target)).toBe(false);
    await outcome(mode, 'write', '/tmp/freshet-escaped.txt');
    expect(existsSync('/tmp/freshet-escaped.txt')).toBe(false);
  });
});

describe('a plan-mode program under bubblewrap', () => {
  it.skipIf(!bwrapHere)('has no network, and sees only its own processes', async () => {
    const before = connections;
    expect(await outcome('auto', 'net', String(port))).toMatch(/^blocked:/);
    expect(connections).toBe(before);
    // /proc is not readable at all (permission model); beneath that, bubblewrap's /proc shows only the sandbox.
    expect(await outcome('auto', 'proc')).toMatch(/^(blocked:ERR_ACCESS_DENIED|ok:[\d ]{1,10})$/);
  });

  it.skipIf(!bwrapHere)('writes only to its private /tmp, which the host never sees', async () => {
    expect(await outcome('auto', 'write', '/tmp/freshet-escape-probe.txt')).toBe('ok:written');
    expect(existsSync('/tmp/freshet-escape-probe.txt')).toBe(false);
  });
});

describe('the isolation', () => {
  it('names its layers', () => {
    const auto = detectIsolation('auto');
    expect(auto.description).toContain('empty env');
    if (auto.bwrap !== undefined)
      expect(auto.description).toMatch(/^bubblewrap \(user, pid, net, ipc namespaces\), node --/);
    expect(detectIsolation('permission-only').description).toContain('no network isolation');
    expect(readFileSync(bundlePath, 'utf8').length).toBeGreaterThan(0);
  });
});
