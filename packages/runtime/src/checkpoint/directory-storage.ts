/**
 * The directory checkpoint storage (the default, Flink's
 * `FileSystemCheckpointStorage` on a local directory):
 *
 * ```
 * <root>/<jobId>/chk-<N>/<vertexId>-<subtask>.state   subtask snapshots of checkpoint N
 * <root>/<jobId>/chk-<N>/_metadata                    the completed checkpoint (JSON)
 * <root>/<jobId>/shared/final-<vertexId>-<subtask>-a<attempt>.state
 *                                                     final states (may belong to several checkpoints)
 * ```
 *
 * A handle is the file's path relative to `<root>/<jobId>`, so a job's
 * directory can be moved as a whole. Every file is written to a temporary
 * name beside its final one and renamed into place, so a reader (or a crash)
 * never sees half a file; a checkpoint exists once its `_metadata` does.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { parseCheckpointMetadata, serializeCheckpointMetadata, type CheckpointMetadata } from './metadata.js';
import {
  CheckpointStorageError,
  type CheckpointStorage,
  type DiscardRequest,
  type StateHandle,
  type StateLocation,
} from './storage.js';

/** The name of a completed checkpoint's metadata file. */
export const METADATA_FILE = '_metadata';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(what: string, name: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new CheckpointStorageError(
      `${what} '${name}' cannot be a file name (letters, digits, '.', '_', '-' only)`,
    );
  }
  return name;
}

/** Writes `data` to `path` atomically: a temporary file beside it, then a rename (also used by savepoints). */
export async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Checkpoints of any number of jobs under one root directory. */
export class DirectoryCheckpointStorage implements CheckpointStorage {
  /** @param root the directory holding one subdirectory per job (created when needed) */
  constructor(readonly root: string) {}

  /** The directory of a job's checkpoints. */
  jobDir(jobId: string): string {
    return join(this.root, checkName('job id', jobId));
  }

  /** The directory of checkpoint `checkpointId` of a job. */
  checkpointDir(jobId: string, checkpointId: number): string {
    return join(this.jobDir(jobId), `chk-${checkpointId}`);
  }

  private resolve(jobId: string, handle: StateHandle): string {
    const rel = normalize(handle);
    if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`) || rel.includes(`${sep}..${sep}`)) {
      throw new CheckpointStorageError(
        `state handle '${handle}' points outside the job's checkpoint directory`,
      );
    }
    return join(this.jobDir(jobId), rel);
  }

  async writeState(location: StateLocation, bytes: Uint8Array): Promise<StateHandle> {
    const vertex = checkName('vertex id', location.vertexId);
    const handle =
      location.checkpointId === 'final'
        ? `shared/final-${vertex}-${location.subtask}-a${location.attempt}.state`
        : `chk-${location.checkpointId}/${vertex}-${location.subtask}.state`;
    await writeAtomically(this.resolve(location.jobId, handle), bytes);
    return handle;
  }

  async readState(jobId: string, handle: StateHandle): Promise<Uint8Array> {
    const buffer = await readFile(this.resolve(jobId, handle));
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  async writeMetadata(metadata: CheckpointMetadata): Promise<string> {
    const path = join(this.checkpointDir(metadata.jobId, metadata.checkpointId), METADATA_FILE);
    await writeAtomically(path, serializeCheckpointMetadata(metadata));
    return path;
  }

  async readMetadata(jobId: string, checkpointId: number): Promise<CheckpointMetadata> {
    const path = join(this.checkpointDir(jobId, checkpointId), METADATA_FILE);
    return parseCheckpointMetadata(await readFile(path, 'utf8'), path);
  }

  async listCheckpoints(jobId: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.jobDir(jobId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const ids: number[] = [];
    for (const name of names) {
      const m = /^chk-(\d+)$/.exec(name);
      if (!m) continue;
      const files = await readdir(join(this.jobDir(jobId), name)).catch(() => [] as string[]);
      if (files.includes(METADATA_FILE)) ids.push(Number(m[1]));
    }
    return ids.sort((a, b) => a - b);
  }

  async discard(jobId: string, request: DiscardRequest): Promise<void> {
    const dirs = new Set<string>();
    for (const handle of request.handles) {
      const path = this.resolve(jobId, handle);
      await unlink(path).catch(ignoreMissing);
      dirs.add(dirname(path));
    }
    if (request.checkpointId !== undefined) {
      const dir = this.checkpointDir(jobId, request.checkpointId);
      await unlink(join(dir, METADATA_FILE)).catch(ignoreMissing);
      dirs.add(dir);
    }
    // A directory goes once it is empty; one still holding a state a retained checkpoint refers to stays.
    for (const dir of dirs) await rmdir(dir).catch(ignoreMissingOrNotEmpty);
  }

  async discardJob(jobId: string): Promise<void> {
    await rm(this.jobDir(jobId), { recursive: true, force: true });
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

function ignoreMissingOrNotEmpty(error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
}
