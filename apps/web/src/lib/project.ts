/**
 * What the user picked on the Submit page, as the upload will send it: one
 * program file, a project archive (listed here so the user can choose its
 * entry before anything is sent), or the files of a folder (picked, or
 * dropped and walked) with their paths inside it. The JobManager checks
 * every path again; this side only decides what to ask the user.
 */
import { unzipSync } from 'fflate';
import { unpackTar } from 'modern-tar';

/** A project file with its `/`-separated path inside the picked folder. */
export interface FolderFile {
  path: string;
  file: File;
}

/** What will be uploaded. */
export type Selection =
  | { kind: 'program'; label: string; file: File; size: number }
  | { kind: 'archive'; label: string; file: File; size: number; paths: string[]; candidates: string[] }
  | {
      kind: 'folder';
      label: string;
      files: FolderFile[];
      size: number;
      paths: string[];
      candidates: string[];
    };

/** File name endings of a program. */
export const PROGRAM_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;
/** File name endings of a project archive. */
export const ARCHIVE_EXTENSIONS = ['.zip', '.tar.gz', '.tgz', '.tar'] as const;

/** Whether `name` looks like a program the JobManager compiles. */
export function isProgramFile(name: string): boolean {
  const lower = name.toLowerCase();
  return PROGRAM_EXTENSIONS.some((ext) => lower.endsWith(ext)) && !lower.endsWith('.d.ts');
}

/** Whether `name` looks like a project archive. */
export function isArchiveFile(name: string): boolean {
  const lower = name.toLowerCase();
  return ARCHIVE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Program files that could be a project's entry: not tests, declarations or in `node_modules`. */
export function entryCandidates(paths: readonly string[]): string[] {
  return paths
    .filter(
      (p) =>
        /\.(m?ts|m?js)$/i.test(p) &&
        !/(\.d\.m?ts|\.(test|spec)\.m?[jt]s)$/i.test(p) &&
        !p.split('/').includes('node_modules'),
    )
    .sort();
}

/** The entry to preselect: the only candidate, else none (the user chooses). */
export function preselectedEntry(candidates: readonly string[]): string | undefined {
  return candidates.length === 1 ? candidates[0] : undefined;
}

function cleanPath(path: string): string {
  return path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

function folderSelection(files: FolderFile[]): Selection {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const top = sorted[0]?.path.split('/')[0];
  const inOneFolder = top !== undefined && sorted.every((f) => f.path.startsWith(`${top}/`));
  const paths = sorted.map((f) => f.path);
  return {
    kind: 'folder',
    label: inOneFolder ? `${top}/` : `${files.length} files`,
    files: sorted,
    size: files.reduce((n, f) => n + f.file.size, 0),
    paths,
    candidates: entryCandidates(paths),
  };
}

/**
 * What a file input gave: one program or archive as itself, several files or
 * a folder (`webkitRelativePath`) as a folder selection. Undefined for
 * nothing; an `Error` for one file that is neither.
 */
export async function selectionOfFiles(list: readonly File[]): Promise<Selection | Error | undefined> {
  const first = list[0];
  if (first === undefined) return undefined;
  if (list.length === 1 && !first.webkitRelativePath) {
    if (isArchiveFile(first.name)) return archiveSelection(first);
    if (isProgramFile(first.name))
      return { kind: 'program', label: first.name, file: first, size: first.size };
    return new Error(
      `${first.name} is not a program: choose a ${PROGRAM_EXTENSIONS.join(', ')} file, a folder, or a ${ARCHIVE_EXTENSIONS.join(', ')} archive.`,
    );
  }
  return folderSelection(
    list.map((file) => ({ path: cleanPath(file.webkitRelativePath || file.name), file })),
  );
}

/** Lists an archive's files (without inflating their contents) so the user can choose its entry. */
async function archiveSelection(file: File): Promise<Selection | Error> {
  const names: string[] = [];
  try {
    const lower = file.name.toLowerCase();
    if (lower.endsWith('.zip')) {
      unzipSync(new Uint8Array(await file.arrayBuffer()), {
        filter: (entry) => {
          if (!entry.name.endsWith('/')) names.push(entry.name);
          return false;
        },
      });
    } else {
      const raw = file.stream();
      const stream = lower.endsWith('.tar') ? raw : raw.pipeThrough(new DecompressionStream('gzip'));
      await unpackTar(stream, {
        filter: (header) => {
          if ((header.type ?? 'file') === 'file') names.push(header.name);
          return false;
        },
      });
    }
  } catch (err) {
    return new Error(
      `${file.name} is not a readable archive (${err instanceof Error ? err.message : String(err)}).`,
    );
  }
  const paths = names.map(cleanPath).sort();
  return {
    kind: 'archive',
    label: file.name,
    file,
    size: file.size,
    paths,
    candidates: entryCandidates(paths),
  };
}

/** Reads every file under a dropped directory entry, with paths starting at its name. */
async function walk(entry: FileSystemEntry, prefix: string, out: FolderFile[]): Promise<void> {
  const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => {
      (entry as FileSystemFileEntry).file(resolve, reject);
    });
    out.push({ path, file });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in pages until it returns none.
  for (;;) {
    const page = await new Promise<FileSystemEntry[]>((resolve, reject) => {
      reader.readEntries(resolve, reject);
    });
    if (page.length === 0) break;
    for (const child of page) await walk(child, path, out);
  }
}

/**
 * What a drop gave: folders are walked (drag and drop of a directory),
 * files taken as {@link selectionOfFiles} takes them.
 */
export async function selectionOfDrop(transfer: DataTransfer): Promise<Selection | Error | undefined> {
  const entries = Array.from(transfer.items)
    .map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (!entries.some((e) => e.isDirectory)) return selectionOfFiles(Array.from(transfer.files));
  const files: FolderFile[] = [];
  for (const entry of entries) await walk(entry, '', files);
  if (files.length === 0) return new Error('The dropped folder holds no files.');
  return folderSelection(files);
}
