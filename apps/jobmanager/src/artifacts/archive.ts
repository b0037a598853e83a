/**
 * Reading an uploaded project archive (`.zip`, `.tar.gz`/`.tgz`, `.tar`)
 * into memory, safely: every entry's path is checked before its data is
 * read (no `..`, no absolute paths, no links or devices), and the number of
 * entries and their unpacked size are bounded before anything is inflated,
 * so neither a zip bomb nor a crafted header gets further than its header.
 * Nothing is written to disk here.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { unpackTar } from 'modern-tar';
import yauzl from 'yauzl';
import { PayloadTooLargeError } from '@freshet/errors';
import {
  formatBytes,
  ProjectTally,
  UnsafeProjectError,
  type ProjectFile,
  type ProjectLimits,
} from './project-files.js';

const gunzipAsync = promisify(gunzip);

/** The archive formats an upload may be. */
export type ArchiveKind = 'zip' | 'tar.gz' | 'tar';

/** The archive kind of an upload, from its name and first bytes; undefined for anything else. */
export function archiveKindOf(fileName: string, head: Uint8Array): ArchiveKind | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar')) return 'tar';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  return undefined;
}

/** The name of an archive without its archive extension (`job.tar.gz` → `job`). */
export function archiveBaseName(fileName: string): string {
  return fileName.replace(/\.(zip|tar\.gz|tgz|tar)$/i, '');
}

/**
 * Reads an archive's files.
 *
 * @throws UnsafeProjectError naming the entry that is a link, a device, absolute or climbs out with `..`
 * @throws PayloadTooLargeError over {@link ProjectLimits}
 * @throws InvalidInputError when it is not a readable archive of that kind
 */
export async function readArchive(
  kind: ArchiveKind,
  archiveName: string,
  bytes: Buffer,
  limits: ProjectLimits,
): Promise<ProjectFile[]> {
  if (kind === 'zip') return readZip(archiveName, bytes, limits);
  let tar: Buffer = bytes;
  if (kind === 'tar.gz') {
    // Bounded inflation: a gzip bomb stops at the limit plus room for the tar headers.
    const maxOutputLength = limits.maxBytes + limits.maxFiles * 1536 + 1024 * 1024;
    try {
      tar = await gunzipAsync(bytes, { maxOutputLength });
    } catch (err) {
      if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new PayloadTooLargeError(
          `${archiveName} unpacks to more than ${formatBytes(limits.maxBytes)} (set --project-max-bytes)`,
          { details: { limit: limits.maxBytes } },
        );
      }
      throw new UnsafeProjectError(
        `${archiveName} is not a readable .tar.gz archive (${(err as Error).message})`,
        archiveName,
      );
    }
  }
  return readTar(archiveName, tar, limits);
}

async function readTar(archiveName: string, tar: Buffer, limits: ProjectLimits): Promise<ProjectFile[]> {
  const tally = new ProjectTally(archiveName, limits);
  let entries: Awaited<ReturnType<typeof unpackTar>>;
  try {
    entries = await unpackTar(tar, {
      strict: true,
      // Called with each header before its data is kept: refuse the archive at the first bad entry.
      filter: (header) => {
        const type = header.type ?? 'file';
        if (type === 'directory' || type === 'pax-global-header') return false;
        if (type !== 'file') {
          const what = type === 'symlink' || type === 'link' ? 'a link' : `a ${type}`;
          throw new UnsafeProjectError(
            `${archiveName}: entry ${JSON.stringify(header.name)} is ${what}; only files may be uploaded`,
            header.name,
          );
        }
        tally.add(header.name, header.size);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof UnsafeProjectError || err instanceof PayloadTooLargeError) throw err;
    throw new UnsafeProjectError(
      `${archiveName} is not a readable tar archive (${(err as Error).message})`,
      archiveName,
    );
  }
  return entries.map((entry) => ({
    path: tally.pathOf(entry.header.name),
    bytes: Buffer.from(entry.data ?? new Uint8Array(0)),
  }));
}

/** Unix file type bits of a zip entry made on Unix (in the high half of its external attributes). */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function readZip(archiveName: string, bytes: Buffer, limits: ProjectLimits): Promise<ProjectFile[]> {
  const tally = new ProjectTally(archiveName, limits);
  return new Promise<ProjectFile[]>((resolve, reject) => {
    // Raw names: yauzl's own checks would refuse a bad name without our message naming it.
    yauzl.fromBuffer(
      bytes,
      { lazyEntries: true, decodeStrings: false, validateEntrySizes: true },
      (openErr, zip) => {
        if (openErr) {
          reject(
            new UnsafeProjectError(
              `${archiveName} is not a readable .zip archive (${openErr.message})`,
              archiveName,
            ),
          );
          return;
        }
        const files: ProjectFile[] = [];
        const fail = (err: unknown): void => {
          zip.close();
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        zip.on('error', (err: Error) => {
          reject(
            new UnsafeProjectError(
              `${archiveName} is not a readable .zip archive (${err.message})`,
              archiveName,
            ),
          );
        });
        zip.on('end', () => {
          resolve(files);
        });
        zip.on('entry', (entry: yauzl.Entry) => {
          try {
            const name = Buffer.from(entry.fileName as unknown as Uint8Array).toString('utf8');
            const madeOnUnix = entry.versionMadeBy >> 8 === 3;
            const mode = madeOnUnix ? (entry.externalFileAttributes >>> 16) & S_IFMT : 0;
            if (name.endsWith('/') || mode === S_IFDIR) {
              zip.readEntry();
              return;
            }
            if (mode !== 0 && mode !== S_IFREG) {
              const what = mode === 0o120000 ? 'a link' : 'not a regular file';
              throw new UnsafeProjectError(
                `${archiveName}: entry ${JSON.stringify(name)} is ${what}; only files may be uploaded`,
                name,
              );
            }
            if (entry.isEncrypted()) {
              throw new UnsafeProjectError(
                `${archiveName}: entry ${JSON.stringify(name)} is encrypted`,
                name,
              );
            }
            tally.add(name, entry.uncompressedSize);
            const path = tally.pathOf(name);
            zip.openReadStream(entry, (streamErr, stream) => {
              if (streamErr) {
                fail(
                  new UnsafeProjectError(
                    `${archiveName}: entry ${JSON.stringify(name)} cannot be read (${streamErr.message})`,
                    name,
                  ),
                );
                return;
              }
              const chunks: Buffer[] = [];
              stream.on('data', (chunk: Buffer) => chunks.push(chunk));
              stream.on('error', (err: Error) => {
                fail(
                  new UnsafeProjectError(
                    `${archiveName}: entry ${JSON.stringify(name)} cannot be read (${err.message})`,
                    name,
                  ),
                );
              });
              stream.on('end', () => {
                files.push({ path, bytes: Buffer.concat(chunks) });
                zip.readEntry();
              });
            });
          } catch (err) {
            fail(err);
          }
        });
        zip.readEntry();
      },
    );
  });
}
