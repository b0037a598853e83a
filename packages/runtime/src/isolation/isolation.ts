/**
 * How a child process running user code — the planner's plan child, a
 * TaskManager's job process — is isolated from its host, decided once per
 * process by probing what works here:
 *
 * 1. **bubblewrap** (`bwrap`, Debian's `bubblewrap`): new user, PID, network,
 *    IPC and UTS namespaces; only `/usr` (Node), Node's own install and the
 *    host's package tree are mounted, read-only; a private tmpfs `/tmp` is
 *    the only writable place; a fresh `/proc` that shows only the sandbox;
 *    `--die-with-parent`, `--new-session`, every capability dropped. Run as
 *    uid/gid 65534 when the host is root and nobody can read the package
 *    tree; otherwise as the host's user, mapped to 65534 inside.
 * 2. **Node's permission model** (`--permission`, `--experimental-permission`
 *    on Node 20): reads only of the package tree and the private directory,
 *    writes only to the private directory, no child processes, no worker
 *    threads, no native addons (a TaskManager's job process on the disk
 *    state backend, under bubblewrap only, may load them: `process-host.ts`).
 * 3. **An empty environment** (no `DATABASE_URL`, no token).
 *
 * Without bubblewrap, layers 2 and 3 remain (and, for a root host, the child
 * runs as uid 65534, so it cannot signal the host or read its `/proc`
 * entries); the network is then not isolated.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The unprivileged user and group user code runs as (Debian's `nobody`/`nogroup`). */
export const SANDBOX_UID = 65534;

/** What isolates plan children in this process. */
export interface Isolation {
  /** Path of `bwrap` when bubblewrap isolates the child. */
  bwrap: string | undefined;
  /** Spawn the child (bwrap, or node without it) as this user; undefined = as the host's user. */
  runAs: { uid: number; gid: number } | undefined;
  /** Node's permission-model flag (`--permission` or, on Node 20, `--experimental-permission`), if Node has one. */
  permissionFlag: string | undefined;
  /** The host's package tree the child reads (Node modules and Freshet's packages). */
  packageRoot: string;
  /** One line for the log and the README: `bubblewrap (user, pid, net, ipc namespaces), node --permission, empty env`. */
  description: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The directory that holds every package the plan child loads: the topmost
 * ancestor of the planner with a `node_modules` folder (the workspace root
 * of a pnpm install, whose `.pnpm` store the packages link into).
 */
function findPackageRoot(): string {
  let found = here;
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) found = dir;
    if (dirname(dir) === dir) return found;
  }
}

/** Where Node is installed (`/usr` for Debian's node; `…/node-v20…` for a tarball or nvm). */
export function nodePrefix(): string {
  return dirname(dirname(process.execPath));
}

/** The permission-model flag this Node knows, if any. */
function permissionFlag(): string | undefined {
  const flags = process.allowedNodeEnvironmentFlags;
  if (flags.has('--permission')) return '--permission';
  if (flags.has('--experimental-permission')) return '--experimental-permission';
  return undefined;
}

function findBwrap(): string | undefined {
  for (const candidate of ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap']) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What {@link bwrapArgs} lets the sandbox reach besides Node and the package tree. */
export interface SandboxAccess {
  /** Keep the host's network (a job's connectors); default a new, empty network namespace. */
  network?: boolean;
  /** Host directories mounted read-write at the same path (a job's input and output files). */
  binds?: readonly string[];
}

/**
 * The bubblewrap arguments before the command: namespaces, read-only
 * mounts of Node and `packageRoot`, a private `/tmp`, a fresh `/proc`, and
 * tmpfs over every directory in `hide` (the host's data directory, which may
 * sit inside the package tree); `access` opens the network or binds
 * directories read-write.
 */
export function bwrapArgs(
  packageRoot: string,
  hide: readonly string[] = [],
  access: SandboxAccess = {},
): string[] {
  const prefix = nodePrefix();
  const args = [
    '--unshare-user',
    '--unshare-pid',
    ...(access.network === true ? [] : ['--unshare-net']),
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  // Merged-/usr Debian: /lib, /lib64 and /bin are links into /usr.
  for (const link of ['lib', 'lib64', 'bin']) {
    if (existsSync(`/usr/${link}`)) args.push('--symlink', `usr/${link}`, `/${link}`);
  }
  // The private /tmp first: Node, the package tree and the binds mounted after it stay visible when
  // they live under the host's /tmp (a checkout in /tmp); hidden directories last (they win over a bind
  // around them).
  args.push('--proc', '/proc', '--dev', '/dev', '--size', String(64 * 1024 * 1024), '--tmpfs', '/tmp');
  if (prefix !== '/usr' && !prefix.startsWith('/usr/')) args.push('--ro-bind', prefix, prefix);
  args.push('--ro-bind', packageRoot, packageRoot);
  const binds = (access.binds ?? []).filter((dir) => existsSync(dir));
  for (const dir of binds) args.push('--bind', dir, dir);
  // A read-write directory around the package tree (say --task-files /tmp over a checkout in /tmp) must not make it writable.
  if (binds.some((dir) => packageRoot === dir || packageRoot.startsWith(`${dir}/`)))
    args.push('--ro-bind', packageRoot, packageRoot);
  const mounted = [packageRoot, ...binds];
  const hidden: string[] = [];
  for (const dir of hide) {
    if (existsSync(dir) && (binds.includes(dir) || mounted.some((m) => dir.startsWith(`${m}/`)))) {
      args.push('--tmpfs', dir);
      hidden.push(dir);
    }
  }
  // A bind inside a hidden directory (a job's spill directory under the data directory) is mounted again over the tmpfs.
  for (const dir of binds) if (hidden.some((h) => dir.startsWith(`${h}/`))) args.push('--bind', dir, dir);
  args.push('--chdir', '/tmp');
  return args;
}

function probe(bwrap: string, packageRoot: string, runAs: { uid: number; gid: number } | undefined): boolean {
  const result = spawnSync(bwrap, [...bwrapArgs(packageRoot), '--', process.execPath, '-e', '0'], {
    env: {},
    stdio: 'ignore',
    timeout: 10_000,
    ...(runAs ?? {}),
  });
  return result.status === 0;
}

/** Whether `uid` can read (and traverse) `dir`. */
function readableBy(dir: string, uid: number): boolean {
  const result = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(dir)}, 4)`], {
    env: {},
    stdio: 'ignore',
    uid,
    gid: uid,
    timeout: 10_000,
  });
  return result.status === 0;
}

/**
 * Node permission-model flags granting reads of `read` and writes of
 * `write`, each directory once: Node 20 aborts at start-up (a failed
 * assertion in its permission tree) when a path is granted twice, e.g. a
 * job's `/tmp` work directory that is also one of its `--task-files`.
 */
export function fsGrants(read: readonly string[], write: readonly string[] = []): string[] {
  const once = (dirs: readonly string[]): string[] => [...new Set(dirs.map((d) => resolve(d)))];
  return [
    ...once(read).map((dir) => `--allow-fs-read=${dir}`),
    ...once(write).map((dir) => `--allow-fs-write=${dir}`),
  ];
}

/** `auto`: the strongest isolation that works here; `permission-only`: without bubblewrap (the fallback, for tests). */
export type IsolationMode = 'auto' | 'permission-only';

const detected = new Map<IsolationMode, Isolation>();

/** What isolates plan children here (probed once per mode; later calls return the same answer). */
export function detectIsolation(mode: IsolationMode = 'auto'): Isolation {
  const known = detected.get(mode);
  if (known !== undefined) return known;
  const packageRoot = findPackageRoot();
  const flag = permissionFlag();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const nobody =
    isRoot && readableBy(packageRoot, SANDBOX_UID) ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : undefined;
  const bwrap = mode === 'permission-only' ? undefined : findBwrap();
  let usable: { bwrap: string; runAs: typeof nobody } | undefined;
  if (bwrap !== undefined) {
    if (nobody !== undefined && probe(bwrap, packageRoot, nobody)) usable = { bwrap, runAs: nobody };
    else if (probe(bwrap, packageRoot, undefined)) usable = { bwrap, runAs: undefined };
  }
  const layers: string[] = [];
  if (usable !== undefined) layers.push('bubblewrap (user, pid, net, ipc namespaces)');
  if (flag !== undefined) layers.push(`node ${flag}`);
  layers.push('empty env');
  const runAs = usable !== undefined ? usable.runAs : nobody;
  if (runAs !== undefined) layers.push(`uid ${runAs.uid}`);
  if (usable === undefined) layers.push('no network isolation (bubblewrap unavailable)');
  const isolation: Isolation = {
    bwrap: usable?.bwrap,
    runAs,
    permissionFlag: flag,
    packageRoot,
    description: layers.join(', '),
  };
  detected.set(mode, isolation);
  return isolation;
}
