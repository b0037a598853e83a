/**
 * Uploaded programs. Content-addressed: the source is stored as
 * `<artifactsDir>/<sha256>` and the compiled bundle as
 * `<artifactsDir>/<bundleSha256>.mjs`. The client's file name is only ever
 * shown, never used as a path (Flink's CVE-2020-17518/17519).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import type { ProgramDiagnostic } from '@freshet/planner';
import { ProgramDiagnosticsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { WorkQueue } from '../limits/work-queue.js';
import { compileUpload } from './compile.js';

/** An artifact as the API shows it. */
export interface ArtifactInfo {
  /** sha256 hex of the uploaded source. */
  id: string;
  /** The uploaded file's name without any directory part, for display only. */
  fileName: string;
  /** Bytes of source. */
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

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);
const SHA256 = /^[0-9a-f]{64}$/;

/** `12.3 MiB`, `10 MiB`, `900 KiB`. */
export function formatBytes(bytes: number): string {
  const unit = bytes >= 1024 * 1024 ? (['MiB', 1024 * 1024] as const) : (['KiB', 1024] as const);
  const value = Math.round((bytes / unit[1]) * 10) / 10;
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)} ${unit[0]}`;
}

/**
 * The last path segment of a client-sent name (both `/` and `\` separate),
 * without control characters, at most 200 characters: what we display.
 */
export function displayFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const last = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const clean = last === '.' || last === '..' ? '' : last;
  return clean.length > 200 ? clean.slice(clean.length - 200) : clean;
}

type ArtifactRow = NonNullable<Awaited<ReturnType<FreshetDatabase['prisma']['artifact']['findUnique']>>>;

/** Options of {@link ArtifactService}. */
export interface ArtifactServiceOptions {
  db: FreshetDatabase;
  /** Directory of the blobs. */
  dir: string;
  /** Largest source accepted, bytes. */
  uploadLimitBytes: number;
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

  /** Creates the blob directory. */
  async init(): Promise<void> {
    await mkdir(join(this.#opts.dir, 'tmp'), { recursive: true });
  }

  /** Validates, compiles and stores an upload (`artifacts.upload`). */
  async upload(form: { get(name: string): unknown }): Promise<UploadResult> {
    const file = form.get('file');
    if (!(file instanceof Blob)) {
      throw new InvalidInputError("Expected the program as a file in the form field 'file'");
    }
    const rawName = 'name' in file && typeof file.name === 'string' ? file.name : '';
    const fileName = displayFileName(rawName);
    const ext = extname(fileName).toLowerCase();
    if (!EXTENSIONS.has(ext)) {
      throw new InvalidInputError(
        `Unsupported program file ${JSON.stringify(fileName || rawName)}: upload a .ts, .mts, .js or .mjs file`,
      );
    }
    const limit = this.#opts.uploadLimitBytes;
    if (file.size > limit) {
      throw new PayloadTooLargeError(
        `Program ${fileName} is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)} (set --upload-limit-bytes)`,
        { details: { size: file.size, limit } },
      );
    }
    const bytes = Buffer.from(await file.arrayBuffer());
    const id = createHash('sha256').update(bytes).digest('hex');
    let pending = this.#inflight.get(id);
    if (pending === undefined) {
      pending = this.#store(id, fileName, bytes).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, pending);
    }
    return pending;
  }

  async #store(id: string, fileName: string, bytes: Buffer): Promise<UploadResult> {
    const { prisma } = this.#opts.db;
    const existing = await prisma.artifact.findUnique({ where: { id } });
    if (existing !== null && existing.deletedAt === null && (await this.#exists(existing.bundleSha))) {
      return { artifact: await this.#info(existing), deduplicated: true, warnings: [] };
    }
    let source: string;
    try {
      source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new InvalidInputError(`Program ${fileName} is not UTF-8 text`);
    }
    const started = performance.now();
    const result = await this.#opts.compileQueue.run(() =>
      compileUpload({
        source,
        filename: fileName,
        cacheDir: this.#opts.dir,
        resolveDir: join(this.#opts.dir, 'tmp'),
      }),
    );
    if (!result.ok) {
      const first = result.errors
        .slice(0, 3)
        .map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)
        .join('\n');
      const more = result.errors.length > 3 ? `\n(and ${result.errors.length - 3} more)` : '';
      const n = result.errors.length;
      throw new ProgramDiagnosticsError(`${n} error${n === 1 ? '' : 's'} in ${fileName}:\n${first}${more}`, result.errors);
    }
    await this.#writeAtomically(join(this.#opts.dir, id), bytes);
    const data = {
      fileName,
      size: bytes.length,
      bundleSha: result.sha256,
      bundleSize: result.size,
      deletedAt: null,
    };
    const row = await prisma.artifact.upsert({ where: { id }, create: { id, ...data }, update: data });
    this.#opts.logger.info(
      {
        artifactId: id,
        fileName,
        size: bytes.length,
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
