/**
 * Handles of Freshet's own daemons: they know the line each logs once it is
 * ready (the JobManager's URL, the TaskManager's registration) and what it
 * announces there.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LaunchError, ManagedProcess } from './managed-process.js';

/** The JobManager logs this, then its URL, once it accepts requests. */
export const JOBMANAGER_READY_LOG = 'JobManager listening on ';
/** The TaskManager logs this (with a `dataPort` field) once its data port listens. */
export const TASKMANAGER_DATA_PORT_LOG = 'TaskManager data port listening on ';
/** The TaskManager logs this (with a `taskManagerId` field) once the JobManager registered it. */
export const TASKMANAGER_REGISTERED_LOG = 'TaskManager registered as ';

/** `args` with `flag`'s value set to `value` (replaced where it is given, else appended). */
export function withFlag(args: readonly string[], flag: string, value: string): string[] {
  const out = [...args];
  const at = out.indexOf(flag);
  if (at >= 0 && at + 1 < out.length) out[at + 1] = value;
  else out.push(flag, value);
  return out;
}

/** File name of the JobManager's first admin token inside its data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** File name of the cluster join secret inside the JobManager's data directory. */
export const JOIN_SECRET_FILE = 'join-secret';

/** A JobManager process; ready once it logged its URL. */
export class JobManagerProcess extends ManagedProcess {
  #url: string | undefined;

  /** Its data directory: `--data-dir`, else `FRESHET_DATA_DIR`, else `./.freshet` of its working directory. */
  get dataDir(): string {
    const args = this.spec.args ?? [];
    const at = args.indexOf('--data-dir');
    const dir = at >= 0 ? args[at + 1] : (this.spec.env?.FRESHET_DATA_DIR ?? process.env.FRESHET_DATA_DIR);
    return resolve(this.spec.cwd ?? process.cwd(), dir ?? '.freshet');
  }

  /**
   * The admin token the JobManager wrote to `<data-dir>/admin-token` on its
   * first start (read when asked, so it follows a restart).
   *
   * @throws LaunchError when the file is missing (a database that already had admin tokens)
   */
  get adminToken(): string {
    const path = join(this.dataDir, ADMIN_TOKEN_FILE);
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new LaunchError(`${this.name} has no admin token at ${path}: ${(err as Error).message}`);
    }
  }

  /**
   * The file holding the cluster join secret TaskManagers register with:
   * its `--join-secret-file` (or `FRESHET_JOIN_SECRET_FILE`), else
   * `<data-dir>/join-secret`, which the JobManager creates on its first start.
   */
  get joinSecretFile(): string {
    const args = this.spec.args ?? [];
    const at = args.indexOf('--join-secret-file');
    const file = at >= 0 ? args[at + 1] : this.spec.env?.FRESHET_JOIN_SECRET_FILE;
    return file === undefined
      ? join(this.dataDir, JOIN_SECRET_FILE)
      : resolve(this.spec.cwd ?? process.cwd(), file);
  }

  /**
   * The cluster join secret in {@link JobManagerProcess.joinSecretFile}
   * (read when asked), for tests that register TaskManagers of their own.
   *
   * @throws LaunchError when the file is missing
   */
  get joinSecret(): string {
    const path = this.joinSecretFile;
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new LaunchError(`${this.name} has no join secret at ${path}: ${(err as Error).message}`);
    }
  }

  /** Base URL of its API, e.g. `http://127.0.0.1:40123` (known once ready). */
  get url(): string {
    if (this.#url === undefined) throw new LaunchError(`${this.name} is not ready: its URL is not known yet`);
    return this.#url;
  }

  /** The port it listens on (known once ready). */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  protected override async whenReady(after: number): Promise<void> {
    const line = await this.waitForLog(JOBMANAGER_READY_LOG, this.readyTimeoutMs, after);
    const url = /listening on (\S+)/.exec(line.msg)?.[1];
    if (url === undefined) throw new LaunchError(`${this.name} logged no URL: ${line.msg}`);
    this.#url = url;
    // A restart comes back on the same port, where TaskManagers and clients look for it.
    this.spec = { ...this.spec, args: withFlag(this.spec.args ?? [], '--port', String(this.port)) };
  }
}

/** A TaskManager process; ready once its data port listens and the JobManager registered it. */
export class TaskManagerProcess extends ManagedProcess {
  #taskManagerId: string | undefined;
  #dataPort: number | undefined;

  /** The id the JobManager gave it at its last registration. */
  get taskManagerId(): string {
    // It registers again after a JobManager restart; the newest line wins.
    const logs = this.logs;
    for (let i = logs.length - 1; i >= 0; i--) {
      const line = logs[i]!;
      if (line.msg.startsWith(TASKMANAGER_REGISTERED_LOG)) return String(line.taskManagerId);
    }
    if (this.#taskManagerId === undefined) throw new LaunchError(`${this.name} has not registered yet`);
    return this.#taskManagerId;
  }

  /** The port its data plane listens on. */
  get dataPort(): number {
    if (this.#dataPort === undefined) throw new LaunchError(`${this.name}'s data port is not known yet`);
    return this.#dataPort;
  }

  protected override async whenReady(after: number): Promise<void> {
    const data = await this.waitForLog(TASKMANAGER_DATA_PORT_LOG, this.readyTimeoutMs, after);
    const registered = await this.waitForLog(TASKMANAGER_REGISTERED_LOG, this.readyTimeoutMs, after);
    this.#dataPort = Number(data.dataPort);
    this.#taskManagerId = String(registered.taskManagerId);
  }
}
