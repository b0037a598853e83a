/**
 * The files of an uploaded project, whichever way they came (a folder,
 * several files, an archive): their paths checked and normalized, their
 * number and size bounded, a canonical form to hash and store, and the
 * choice of the entry file. A client-sent path is only ever used inside the
 * project's own scratch directory, and only once it passed
 * {@link normalizeProjectPath}.
 */
import { createHash } from 'node:crypto';
import { packTar } from 'modern-tar';
import { defineErrorClass, InvalidInputError, PayloadTooLargeError } from '@freshet/errors';

/** One file of a project. */
export interface ProjectFile {
  /** `/`-separated path inside the project, normalized (no `.`, `..`, empty or absolute parts). */
  path: string;
  bytes: Buffer;
}

/** Bounds of an uploaded project (`--project-max-files`, `--project-max-bytes`). */
export interface ProjectLimits {
  maxFiles: number;
  /** Total bytes of the files, unpacked. */
  maxBytes: number;
}

/**
 * An upload refused for what it holds: an entry with `..` or an absolute
 * path, a link or device, a duplicate, or an unreadable archive. Code
 * `INVALID_INPUT`; `details.entry` names the entry.
 */
export class UnsafeProjectError extends InvalidInputError<{ entry: string }> {
  static {
    defineErrorClass(this, 'UnsafeProjectError', 'INVALID_INPUT');
  }

  /**
   * @param message - what the client reads, naming the entry
   * @param entry - the entry's name as the upload gave it
   */
  constructor(message: string, entry: string) {
    super(message, { details: { entry } });
  }

  /** The entry's name as the upload gave it. */
  get entry(): string {
    return this.details.entry;
  }
}

/** `12.3 MiB`, `10 MiB`, `900 KiB`. */
export function formatBytes(bytes: number): string {
  const unit = bytes >= 1024 * 1024 ? (['MiB', 1024 * 1024] as const) : (['KiB', 1024] as const);
  const value = Math.round((bytes / unit[1]) * 10) / 10;
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)} ${unit[0]}`;
}

const MAX_PATH = 1024;
const MAX_SEGMENT = 255;

/**
 * The normalized `/`-separated path of an entry, or a reason it is refused.
 * `\` counts as a separator (archives made on Windows); `.` and empty parts
 * are dropped; `..`, absolute paths (`/x`, `C:\x`, `\\host\x`), control
 * characters and overlong names are refused.
 */
export function normalizeProjectPath(name: string): { path: string } | { refused: string } {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { refused: 'has control characters in its name' };
  if (name.length > MAX_PATH) return { refused: `has a name longer than ${MAX_PATH} characters` };
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed)) return { refused: 'has an absolute path' };
  const parts: string[] = [];
  for (const part of slashed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { refused: "climbs out of the project with '..'" };
    if (part.length > MAX_SEGMENT)
      return { refused: `has a path segment longer than ${MAX_SEGMENT} characters` };
    parts.push(part);
  }
  if (parts.length === 0) return { refused: 'has an empty name' };
  return { path: parts.join('/') };
}

/**
 * Counts a project's entries and bytes as they are read and checks each
 * path, so an archive is refused at its first bad entry, before the data of
 * the ones after it is inflated.
 */
export class ProjectTally {
  readonly #source: string;
  readonly #limits: ProjectLimits;
  readonly #paths = new Map<string, string>();
  #files = 0;
  #bytes = 0;

  /**
   * @param source - what the entries come from, for messages (`project.zip`, `the folder examples`)
   */
  constructor(source: string, limits: ProjectLimits) {
    this.#source = source;
    this.#limits = limits;
  }

  /**
   * Checks one entry before its data is read.
   *
   * @throws UnsafeProjectError for a refused or duplicate path
   * @throws PayloadTooLargeError past the file count or total size
   */
  add(name: string, size: number): void {
    const normalized = normalizeProjectPath(name);
    if ('refused' in normalized) {
      throw new UnsafeProjectError(
        `${this.#source}: entry ${JSON.stringify(name)} ${normalized.refused}`,
        name,
      );
    }
    if (this.#paths.has(normalized.path)) {
      throw new UnsafeProjectError(`${this.#source}: entry ${JSON.stringify(name)} appears twice`, name);
    }
    this.#files += 1;
    if (this.#files > this.#limits.maxFiles) {
      throw new PayloadTooLargeError(
        `${this.#source} has more than ${this.#limits.maxFiles} files (at entry ${JSON.stringify(name)}; set --project-max-files)`,
        { details: { limit: this.#limits.maxFiles, entry: name } },
      );
    }
    this.#bytes += size;
    if (this.#bytes > this.#limits.maxBytes) {
      throw new PayloadTooLargeError(
        `${this.#source} is larger than ${formatBytes(this.#limits.maxBytes)} unpacked (at entry ${JSON.stringify(name)}, ${formatBytes(size)}; set --project-max-bytes)`,
        { details: { limit: this.#limits.maxBytes, entry: name } },
      );
    }
    this.#paths.set(normalized.path, name);
    this.#paths.set(name, normalized.path);
  }

  /** The normalized path of an entry {@link add} accepted. */
  pathOf(name: string): string {
    const path = this.#paths.get(name);
    if (path === undefined) throw new Error(`Entry ${name} was not checked`);
    return path;
  }
}

/**
 * Checks that no file's path is a directory of another (`a` and `a/b`), which
 * could not both be written, and returns the files sorted by path.
 *
 * @throws UnsafeProjectError naming the clash
 */
export function checkLayout(files: readonly ProjectFile[], source: string): ProjectFile[] {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const paths = new Set(sorted.map((f) => f.path));
  for (const file of sorted) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (paths.has(dir)) {
        throw new UnsafeProjectError(
          `${source}: ${JSON.stringify(dir)} is both a file and the folder of ${JSON.stringify(file.path)}`,
          file.path,
        );
      }
    }
  }
  return sorted;
}

/**
 * Drops the one folder every file sits in (a folder upload or an archive of
 * a folder: `examples/wordcount/wordcount.ts` → `wordcount/wordcount.ts`),
 * returning its name; files at the top level stay as they are.
 */
export function stripCommonFolder(files: readonly ProjectFile[]): {
  files: ProjectFile[];
  folder: string | undefined;
} {
  const first = files[0]?.path.split('/')[0];
  if (first === undefined || !files.every((f) => f.path.startsWith(`${first}/`)))
    return { files: [...files], folder: undefined };
  return {
    files: files.map((f) => ({ path: f.path.slice(first.length + 1), bytes: f.bytes })),
    folder: first,
  };
}

const PROGRAM_FILE = /\.(m?ts|m?js)$/i;
const NOT_AN_ENTRY = /(\.d\.m?ts|\.(test|spec)\.m?[jt]s)$/i;

/** Whether `path` could be a project's entry file: a program file outside `node_modules`, not a test or declaration. */
export function isEntryCandidate(path: string): boolean {
  return PROGRAM_FILE.test(path) && !NOT_AN_ENTRY.test(path) && !path.split('/').includes('node_modules');
}

/**
 * The project's entry file: `requested` (with or without the stripped
 * folder), else `package.json`'s `main` when it is a program file, else the
 * only candidate.
 *
 * @throws InvalidInputError when it is ambiguous or names no program file of the project
 */
export function chooseEntry(
  files: readonly ProjectFile[],
  requested: string | undefined,
  folder: string | undefined,
): string {
  const paths = new Set(files.map((f) => f.path));
  const candidates = files.map((f) => f.path).filter(isEntryCandidate);
  if (requested !== undefined) {
    const normalized = normalizeProjectPath(requested);
    const path = 'path' in normalized ? normalized.path : undefined;
    const inside =
      path !== undefined && folder !== undefined && path.startsWith(`${folder}/`)
        ? path.slice(folder.length + 1)
        : path;
    for (const p of [path, inside]) if (p !== undefined && paths.has(p) && PROGRAM_FILE.test(p)) return p;
    throw new InvalidInputError(
      `The entry ${JSON.stringify(requested)} is not a program file of the project${hint(candidates)}`,
    );
  }
  const manifest = files.find((f) => f.path === 'package.json');
  if (manifest !== undefined) {
    try {
      const main = (JSON.parse(manifest.bytes.toString('utf8')) as { main?: unknown }).main;
      if (typeof main === 'string') {
        const normalized = normalizeProjectPath(main);
        if ('path' in normalized && paths.has(normalized.path) && PROGRAM_FILE.test(normalized.path))
          return normalized.path;
      }
    } catch {
      // A package.json that does not parse names no entry; the candidates decide.
    }
  }
  if (candidates.length === 1) return candidates[0]!;
  throw new InvalidInputError(
    candidates.length === 0
      ? 'The project has no program file (.ts, .mts, .js or .mjs outside node_modules)'
      : `The project has ${candidates.length} program files: name its entry${hint(candidates)}`,
  );
}

function hint(candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const shown = candidates.slice(0, 8).join(', ');
  return ` (one of ${shown}${candidates.length > 8 ? `, … ${candidates.length - 8} more` : ''})`;
}

/**
 * The project's canonical form: an uncompressed tar of its files in path
 * order with fixed metadata, and the artifact id it gives with `entry`
 * (the same files and entry are one artifact, however they were uploaded).
 */
export async function canonicalProject(
  files: readonly ProjectFile[],
  entry: string,
): Promise<{ id: string; tar: Buffer; size: number }> {
  const epoch = new Date(0);
  const tar = Buffer.from(
    await packTar(
      files.map((f) => ({
        header: {
          name: f.path,
          size: f.bytes.length,
          mode: 0o644,
          mtime: epoch,
          uid: 0,
          gid: 0,
          type: 'file' as const,
        },
        body: f.bytes,
      })),
    ),
  );
  const id = createHash('sha256')
    .update('freshet-project\0')
    .update(entry)
    .update('\0')
    .update(tar)
    .digest('hex');
  return { id, tar, size: files.reduce((n, f) => n + f.bytes.length, 0) };
}
