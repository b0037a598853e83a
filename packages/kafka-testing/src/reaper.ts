/**
 * Making sure a broker JVM never outlives the process that started it, however
 * that process ends: `stop()`, a normal exit without `stop()`, an uncaught
 * error, or SIGKILL (a test runner killing a hung worker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/**
 * The watchdog: a shell that blocks reading a pipe whose only writer is this
 * process. The pipe reaches end-of-file when this process is gone, however it
 * died; the shell then stops the JVM (SIGTERM, SIGKILL after 10 s) and removes
 * its directory. It runs in its own process group, so a Ctrl-C in the terminal
 * (which already stops the JVM) does not stop the clean-up.
 */
const WATCHDOG = `
read _ignored
kill -TERM "$1" 2>/dev/null || { rm -rf "$2"; exit 0; }
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL "$1" 2>/dev/null
rm -rf "$2"
`;

/** A JVM this process owns, with its watchdog. */
export interface Reaped {
  /** Disarms the watchdog and the exit hook: the caller stops the JVM itself. */
  disarm(): void;
}

const live = new Map<number, { dir: string; watchdog: ChildProcess }>();
let exitHookInstalled = false;

/**
 * Guards `pid` (a JVM) and `dir` (its files): both are removed when this
 * process exits without having called {@link Reaped.disarm}.
 */
export function reap(pid: number, dir: string): Reaped {
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'freshet-kafka-watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  watchdog.on('error', () => {
    // No `sh`: the exit hook below still covers normal exits.
  });
  live.set(pid, { dir, watchdog });
  installExitHook();
  return {
    disarm() {
      if (!live.delete(pid)) return;
      killQuietly(watchdog.pid, 'SIGKILL');
    },
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // On a normal exit the watchdog would need up to a grace period; killing
  // here is immediate and synchronous (all an exit handler may do).
  process.on('exit', () => {
    for (const [pid, { dir, watchdog }] of live) {
      killQuietly(pid, 'SIGKILL');
      killQuietly(watchdog.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    live.clear();
  });
}

/** Sends a signal, ignoring a process that is already gone. */
export function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already exited.
  }
}

/** Whether a process with this pid exists (and is not a reaped zombie). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Process ids of the Kafka broker JVMs running on this machine (any JVM whose
 * main class is `kafka.Kafka`, started by this harness or not), read from
 * `/proc`; for tests that check nothing was left behind. Empty where there is
 * no `/proc`.
 */
export async function kafkaBrokerPids(): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes('kafka.Kafka')) pids.push(Number(entry));
  }
  return pids;
}
