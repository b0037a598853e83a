/**
 * Uploaded programs. Content-addressed: the source is stored as
 * `<artifactsDir>/<sha256>` and the compiled bundle as
 * `<artifactsDir>/<bundleSha256>.mjs`. The client's file name is only ever
 * shown, never used as a path (Flink's CVE-2020-17518/17519).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidInputError, NotFoundError } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import type { ProgramDiagnostic } from '@freshet/planner';
import { ProgramDiagnosticsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { WorkQueue } from '../limits/work-queue.js';
import { compileUpload, type CompileRequest } from './compile.js';
import { canonicalProject, type ProjectFile, type ProjectLimits } from './project-files.js';
import { readUploadForm, type ProgramUploadForm } from './upload-form.js';

export { formatBytes } from './project-files.js';
export { displayFileName } from './upload-form.js';

/** An artifact as the API shows it. */
export interface ArtifactInfo {
  /** sha256 hex of the uploaded source. */
  id: string;
  /**
   * For display only: the uploaded file's name without any directory part,
   * or for a project `<project>/<entry path>`.
   */
  fileName: string;
  /** Bytes of source (a project: of all its files). */
  size: number;
  /** sha256 hex of the compiled bundle (`GET /artifacts/<bundleSha256>.mjs`). */
  bundleSha256: string;
  bundleSize: number;
  createdAt: string;
  /** Jobs submitted from this artifact, whatever their status. */
  jobCount: number;
}

/** `artifacts.get`: the artifact and its jobs. */
export interface ArtifactDetails extends ArtifactInfo {
  jobs: { id: string; name: string; status: string; createdAt: string }[];
}

/** `artifacts.upload`'s answer. */
export interface UploadResult {
  artifact: ArtifactInfo;
  /** True when the same source had been uploaded before (nothing was compiled). */
  deduplicated: boolean;
  /** Compiler warnings (the program compiled anyway). */
  warnings: ProgramDiagnostic[];
}

/** Job statuses in which a job still needs its artifact. */
export const ACTIVE_JOB_STATUSES = ['CREATED', 'RUNNING', 'FAILING', 'CANCELLING', 'RESTARTING'] as const;

const SHA256 = /^[0-9a-f]{64}$/;

type ArtifactRow = NonNullable<Awaited<ReturnType<FreshetDatabase['prisma']['artifact']['findUnique']>>>;

/** Options of {@link ArtifactService}. */
export interface ArtifactServiceOptions {
  db: FreshetDatabase;
  /** Directory of the blobs. */
  dir: string;
  /** Largest source accepted, bytes. */
  uploadLimitBytes: number;
  /** Bounds of an uploaded project's files (`--project-max-files`, `--project-max-bytes`). */
  projectLimits: ProjectLimits;
  logger: Logger;
  /** Bounds how many uploads compile at once and how many wait (429 beyond). */
  compileQueue: WorkQueue;
}

/** Stores, compiles, lists and deletes uploaded programs. */
export class ArtifactService {
  readonly #opts: ArtifactServiceOptions;
  /** Uploads of the same content in flight share one compile. */
  readonly #inflight = new Map<string, Promise<UploadResult>>();

  constructor(opts: ArtifactServiceOptions) {
    this.#opts = opts;
  }

  /** Directory of the blobs. */
  get dir(): string {
    return this.#opts.dir;
  }

  /** Where a bundle lives, or undefined for a malformed digest (no path tricks possible). */
  bundlePath(bundleSha256: string): string | undefined {
    return SHA256.test(bundleSha256) ? join(this.#opts.dir, `${bundleSha256}.mjs`) : undefined;
  }

  /**
   * Refuses an upload at once when the compile queue is full, before its
   * body is read.
   *
   * @throws TooManyRequestsError
   */
  checkCapacity(): void {
    this.#opts.compileQueue.check();
  }

  /** Creates the blob directory and drops project scratch directories a crash left behind. */
  async init(): Promise<void> {
    await mkdir(join(this.#opts.dir, 'tmp'), { recursive: true });
    await rm(join(this.#opts.dir, 'projects'), { recursive: true, force: true });
  }

  /**
   * Validates, compiles and stores an upload (`artifacts.upload`): one
   * program file, a project archive, or a folder's files.
   */
  async upload(form: ProgramUploadForm): Promise<UploadResult> {
    const upload = await readUploadForm(form, {
      uploadLimitBytes: this.#opts.uploadLimitBytes,
      project: this.#opts.projectLimits,
    });
    if (upload.kind === 'file') {
      const { fileName, bytes } = upload;
      const id = createHash('sha256').update(bytes).digest('hex');
      return this.#once(id, () => this.#storeFile(id, fileName, bytes));
    }
    const canonical = await canonicalProject(upload.files, upload.entry);
    const fileName = `${upload.name}/${upload.entry}`.slice(-200);
    return this.#once(canonical.id, () =>
      this.#storeProject(canonical.id, fileName, upload.files, upload.entry, canonical),
    );
  }

  /** Uploads of the same content in flight share one compile. */
  #once(id: string, store: () => Promise<UploadResult>): Promise<UploadResult> {
    let pending = this.#inflight.get(id);
    if (pending === undefined) {
      pending = store().finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, pending);
    }
    return pending;
  }

  /** The stored artifact when this content was uploaded before and its bundle is still there. */
  async #existing(id: string): Promise<UploadResult | undefined> {
    const existing = await this.#opts.db.prisma.artifact.findUnique({ where: { id } });
    if (existing !== null && existing.deletedAt === null && (await this.#exists(existing.bundleSha))) {
      return { artifact: await this.#info(existing), deduplicated: true, warnings: [] };
    }
    return undefined;
  }

  async #storeFile(id: string, fileName: string, bytes: Buffer): Promise<UploadResult> {
    const existing = await this.#existing(id);
    if (existing !== undefined) return existing;
    let source: string;
    try {
      source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new InvalidInputError(`Program ${fileName} is not UTF-8 text`);
    }
    const request = {
      source,
      filename: fileName,
      cacheDir: this.#opts.dir,
      resolveDir: join(this.#opts.dir, 'tmp'),
    };
    return this.#compileAndStore(id, fileName, bytes, bytes.length, request);
  }

  /**
   * Writes the project's checked files into a fresh scratch directory (no
   * links, nothing outside it), compiles from there and removes it; the
   * canonical tar is the stored source.
   */
  async #storeProject(
    id: string,
    fileName: string,
    files: readonly ProjectFile[],
    entry: string,
    canonical: { tar: Buffer; size: number },
  ): Promise<UploadResult> {
    const existing = await this.#existing(id);
    if (existing !== undefined) return existing;
    const root = join(this.#opts.dir, 'projects', randomBytes(8).toString('hex'));
    try {
      for (const file of files) {
        const target = join(root, ...file.path.split('/'));
        await mkdir(join(target, '..'), { recursive: true });
        await writeFile(target, file.bytes, { flag: 'wx' });
      }
      return await this.#compileAndStore(id, fileName, canonical.tar, canonical.size, {
        project: root,
        entry,
        cacheDir: this.#opts.dir,
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  async #compileAndStore(
    id: string,
    fileName: string,
    stored: Buffer,
    size: number,
    request: CompileRequest,
  ): Promise<UploadResult> {
    const { prisma } = this.#opts.db;
    const started = performance.now();
    const result = await this.#opts.compileQueue.run(() => compileUpload(request));
    if (!result.ok) {
      const first = result.errors
        .slice(0, 3)
        .map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)
        .join('\n');
      const more = result.errors.length > 3 ? `\n(and ${result.errors.length - 3} more)` : '';
      const n = result.errors.length;
      throw new ProgramDiagnosticsError(
        `${n} error${n === 1 ? '' : 's'} in ${fileName}:\n${first}${more}`,
        result.errors,
      );
    }
    await this.#writeAtomically(join(this.#opts.dir, id), stored);
    const data = {
      fileName,
      size,
      bundleSha: result.sha256,
      bundleSize: result.size,
      deletedAt: null,
    };
    const row = await prisma.artifact.upsert({ where: { id }, create: { id, ...data }, update: data });
    this.#opts.logger.info(
      {
        artifactId: id,
        fileName,
        size,
        bundleSha256: result.sha256,
        compileMs: Math.round(performance.now() - started),
      },
      'Artifact stored',
    );
    return { artifact: await this.#info(row), deduplicated: false, warnings: result.warnings };
  }

  /** Every artifact not deleted, newest first. */
  async list(): Promise<ArtifactInfo[]> {
    const rows = await this.#opts.db.prisma.artifact.findMany({
      where: { deletedAt: null },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      include: { _count: { select: { jobs: true } } },
    });
    return rows.map((row) => toInfo(row, row._count.jobs));
  }

  /** One artifact with its jobs; NOT_FOUND when unknown or deleted. */
  async get(id: string): Promise<ArtifactDetails> {
    const row = await this.require(id);
    const jobs = await this.#opts.db.prisma.job.findMany({
      where: { artifactId: id },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      select: { id: true, name: true, status: true, createdAt: true },
    });
    return {
      ...toInfo(row, jobs.length),
      jobs: jobs.map((j) => ({
        id: j.id,
        name: j.name,
        status: j.status,
        createdAt: j.createdAt.toISOString(),
      })),
    };
  }

  /** The artifact row, or NOT_FOUND. */
  async require(id: string): Promise<ArtifactRow> {
    const row = await this.#opts.db.prisma.artifact.findUnique({ where: { id } });
    if (row === null || row.deletedAt !== null) {
      throw new NotFoundError(
        `No artifact with id ${JSON.stringify(id)}${row === null ? '' : ' (it was deleted)'}; upload the program with artifacts.upload`,
      );
    }
    return row;
  }

  /**
   * Deletes an artifact's blobs and marks it deleted (its jobs keep their
   * history). CONFLICT while a job that is not finished uses it.
   */
  async delete(id: string): Promise<{ id: string; deleted: true }> {
    const { prisma } = this.#opts.db;
    const row = await this.require(id);
    const active = await prisma.job.findMany({
      where: { artifactId: id, status: { in: [...ACTIVE_JOB_STATUSES] } },
      select: { id: true, status: true },
      take: 5,
    });
    if (active.length > 0) {
      throw new ConflictError(
        `Artifact ${row.fileName} (${id.slice(0, 12)}) is used by job ${active.map((j) => `${j.id} (${j.status})`).join(', ')}; cancel it first`,
      );
    }
    await prisma.artifact.update({ where: { id }, data: { deletedAt: new Date() } });
    await rm(join(this.#opts.dir, id), { force: true });
    // Another artifact (same program, different bytes) may compile to the same bundle.
    const sharing = await prisma.artifact.count({ where: { bundleSha: row.bundleSha, deletedAt: null } });
    if (sharing === 0) await rm(join(this.#opts.dir, `${row.bundleSha}.mjs`), { force: true });
    this.#opts.logger.info({ artifactId: id, fileName: row.fileName }, 'Artifact deleted');
    return { id, deleted: true };
  }

  async #exists(bundleSha: string): Promise<boolean> {
    const path = this.bundlePath(bundleSha);
    return path !== undefined && (await stat(path).catch(() => undefined))?.isFile() === true;
  }

  async #writeAtomically(target: string, bytes: Buffer): Promise<void> {
    const tmp = join(this.#opts.dir, 'tmp', `${randomBytes(8).toString('hex')}.upload`);
    await writeFile(tmp, bytes);
    await rename(tmp, target);
  }

  async #info(row: ArtifactRow): Promise<ArtifactInfo> {
    const jobCount = await this.#opts.db.prisma.job.count({ where: { artifactId: row.id } });
    return toInfo(row, jobCount);
  }
}

function toInfo(row: ArtifactRow, jobCount: number): ArtifactInfo {
  return {
    id: row.id,
    fileName: row.fileName,
    size: row.size,
    bundleSha256: row.bundleSha,
    bundleSize: row.bundleSize,
    createdAt: row.createdAt.toISOString(),
    jobCount,
  };
}
