import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { packTar, type TarHeader } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '@freshet/errors';
import { archiveKindOf, readArchive } from './archive.js';
import {
  canonicalProject,
  chooseEntry,
  normalizeProjectPath,
  UnsafeProjectError,
  type ProjectFile,
} from './project-files.js';

const limits = { maxFiles: 10, maxBytes: 10_000 };
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A zip whose entries may carry Unix modes (0o120777 is a symlink). */
function zip(entries: Record<string, { body: string; mode?: number }>): Buffer {
  const files: Record<string, [Uint8Array, { os?: number; attrs?: number }]> = {};
  for (const [name, { body, mode }] of Object.entries(entries)) {
    files[name] = [text(body), mode === undefined ? {} : { os: 3, attrs: (mode << 16) >>> 0 }];
  }
  return Buffer.from(zipSync(files));
}

async function tar(entries: { header: TarHeader; body?: string }[]): Promise<Buffer> {
  return Buffer.from(await packTar(entries.map((e) => ({ header: e.header, body: e.body ?? '' }))));
}

const paths = (files: ProjectFile[]): string[] => files.map((f) => f.path).sort();

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('normalizeProjectPath', () => {
  it('normalizes separators and dots, refuses climbing out and absolute paths', () => {
    expect(normalizeProjectPath('./src//main.ts')).toEqual({ path: 'src/main.ts' });
    expect(normalizeProjectPath('src\\lib\\a.ts')).toEqual({ path: 'src/lib/a.ts' });
    expect(normalizeProjectPath('a/../../etc/passwd')).toEqual({
      refused: "climbs out of the project with '..'",
    });
    expect(normalizeProjectPath('/etc/passwd')).toEqual({ refused: 'has an absolute path' });
    expect(normalizeProjectPath('C:\\Windows\\x.ts')).toEqual({ refused: 'has an absolute path' });
    expect(normalizeProjectPath('a\u0000b')).toEqual({ refused: 'has control characters in its name' });
    expect(normalizeProjectPath('./')).toEqual({ refused: 'has an empty name' });
  });
});

describe('readArchive', () => {
  it('reads a zip and a tar.gz of the same folder into the same files', async () => {
    const fromZip = await readArchive(
      'zip',
      'p.zip',
      zip({ 'p/': { body: '' }, 'p/main.ts': { body: 'main' }, 'p/lib/a.ts': { body: 'a' } }),
      limits,
    );
    const fromTar = await readArchive(
      'tar.gz',
      'p.tar.gz',
      gzipSync(
        await tar([
          { header: { name: 'p/', size: 0, type: 'directory' } },
          { header: { name: 'p/main.ts', size: 4 }, body: 'main' },
          { header: { name: 'p/lib/a.ts', size: 1 }, body: 'a' },
        ]),
      ),
      limits,
    );
    expect(paths(fromZip)).toEqual(['p/lib/a.ts', 'p/main.ts']);
    expect(paths(fromTar)).toEqual(paths(fromZip));
    expect(fromTar.find((f) => f.path === 'p/main.ts')!.bytes.toString()).toBe('main');
    expect(fromZip.find((f) => f.path === 'p/main.ts')!.bytes.toString()).toBe('main');
  });

  it('refuses entries that climb out, are absolute or are links, naming the entry', async () => {
    const climb = await refusal(
      readArchive('zip', 'evil.zip', zip({ 'ok.ts': { body: '' }, '../../x.ts': { body: 'x' } }), limits),
    );
    expect(climb).toBeInstanceOf(UnsafeProjectError);
    expect(climb.message).toBe(`evil.zip: entry "../../x.ts" climbs out of the project with '..'`);
    expect(climb instanceof UnsafeProjectError && climb.entry).toBe('../../x.ts');

    const absolute = await refusal(
      readArchive(
        'tar',
        'evil.tar',
        await tar([{ header: { name: '/etc/cron.d/x', size: 1 }, body: 'x' }]),
        limits,
      ),
    );
    expect(absolute.message).toBe('evil.tar: entry "/etc/cron.d/x" has an absolute path');

    const zipLink = await refusal(
      readArchive('zip', 'link.zip', zip({ 'secret.ts': { body: '/etc/passwd', mode: 0o120777 } }), limits),
    );
    expect(zipLink.message).toBe('link.zip: entry "secret.ts" is a link; only files may be uploaded');

    const tarLink = await refusal(
      readArchive(
        'tar.gz',
        'link.tgz',
        gzipSync(await tar([{ header: { name: 'node_modules', size: 0, type: 'symlink', linkname: '/' } }])),
        limits,
      ),
    );
    expect(tarLink.message).toBe('link.tgz: entry "node_modules" is a link; only files may be uploaded');
    const hardLink = await refusal(
      readArchive(
        'tar',
        'hard.tar',
        await tar([{ header: { name: 'a.ts', size: 0, type: 'link', linkname: '/etc/shadow' } }]),
        limits,
      ),
    );
    expect(hardLink.message).toBe('hard.tar: entry "a.ts" is a link; only files may be uploaded');
  });

  it('refuses archives over the file count or the unpacked size before inflating them', async () => {
    const many: Record<string, { body: string }> = {};
    for (let i = 0; i < 11; i++) many[`f${i}.ts`] = { body: '' };
    const count = await refusal(readArchive('zip', 'many.zip', zip(many), limits));
    expect(count).toBeInstanceOf(PayloadTooLargeError);
    expect(count.message).toBe(
      'many.zip has more than 10 files (at entry "f10.ts"; set --project-max-files)',
    );

    // 1 MB of zeros compresses to about a kilobyte: the header's size refuses it.
    const bomb = Buffer.from(zipSync({ 'big.ts': new Uint8Array(1_000_000) }));
    expect(bomb.length).toBeLessThan(limits.maxBytes);
    const big = await refusal(readArchive('zip', 'bomb.zip', bomb, limits));
    expect(big).toBeInstanceOf(PayloadTooLargeError);
    expect(big.message).toMatch(
      /^bomb\.zip is larger than 9\.8 KiB unpacked \(at entry "big\.ts", 976\.6 KiB; set --project-max-bytes\)$/,
    );

    const gzBomb = gzipSync(
      await tar([{ header: { name: 'big.ts', size: 1_000_000 }, body: '\0'.repeat(1_000_000) }]),
    );
    const inflated = await refusal(readArchive('tar.gz', 'bomb.tgz', gzBomb, limits));
    expect(inflated).toBeInstanceOf(PayloadTooLargeError);
  });

  it('refuses something that is not an archive of its kind', async () => {
    const err = await refusal(readArchive('zip', 'fake.zip', Buffer.from('not a zip at all'), limits));
    expect(err).toBeInstanceOf(UnsafeProjectError);
    expect(err.message).toMatch(/^fake\.zip is not a readable \.zip archive/);
  });

  it('recognizes archives by name or by their first bytes', () => {
    expect(archiveKindOf('x.tgz', new Uint8Array())).toBe('tar.gz');
    expect(archiveKindOf('upload', new Uint8Array([0x50, 0x4b, 3, 4]))).toBe('zip');
    expect(archiveKindOf('main.ts', text('impo'))).toBeUndefined();
  });
});

describe('chooseEntry and canonicalProject', () => {
  const file = (path: string, body = ''): ProjectFile => ({ path, bytes: Buffer.from(body) });

  it('takes the requested entry, package.json main, or the only program file', () => {
    const files = [
      file('a/main.ts'),
      file('a/main.test.ts'),
      file('node_modules/x/index.js'),
      file('types.d.ts'),
    ];
    expect(chooseEntry(files, undefined, undefined)).toBe('a/main.ts');
    expect(chooseEntry([...files, file('b.ts')], 'b.ts', undefined)).toBe('b.ts');
    expect(chooseEntry([...files, file('b.ts')], 'proj/b.ts', 'proj')).toBe('b.ts');
    expect(
      chooseEntry([...files, file('b.ts'), file('package.json', '{"main":"./b.ts"}')], undefined, undefined),
    ).toBe('b.ts');
    expect(() => chooseEntry([...files, file('b.ts')], undefined, undefined)).toThrow(
      'The project has 2 program files: name its entry (one of a/main.ts, b.ts)',
    );
    expect(() => chooseEntry(files, 'missing.ts', undefined)).toThrow(
      'The entry "missing.ts" is not a program file of the project (one of a/main.ts)',
    );
  });

  it('gives the same files and entry one id, whatever their order, and another entry another id', async () => {
    const a = await canonicalProject(
      [file('x.ts', '1'), file('y.ts', '2')].sort((p, q) => p.path.localeCompare(q.path)),
      'x.ts',
    );
    const b = await canonicalProject([file('x.ts', '1'), file('y.ts', '2')], 'x.ts');
    const c = await canonicalProject([file('x.ts', '1'), file('y.ts', '2')], 'y.ts');
    expect(a.id).toBe(b.id);
    expect(c.id).not.toBe(a.id);
    expect(a.size).toBe(2);
    // The stored form is a tar that reads back as the same files.
    expect(paths(await readArchive('tar', 'p.tar', a.tar, limits))).toEqual(['x.ts', 'y.ts']);
  });
});
