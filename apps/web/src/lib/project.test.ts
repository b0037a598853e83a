import { describe, expect, it } from 'vitest';
import { entryCandidates, isArchiveFile, isProgramFile, preselectedEntry, selectionOfFiles } from './project';

function file(name: string, body = '', relativePath = ''): File {
  const f = new File([body], name);
  if (relativePath !== '') Object.defineProperty(f, 'webkitRelativePath', { value: relativePath });
  return f;
}

describe('project selections', () => {
  it('offers program files outside node_modules as entries, not tests or declarations', () => {
    expect(
      entryCandidates([
        'p/main.ts',
        'p/lib/a.test.ts',
        'p/types.d.ts',
        'p/node_modules/x/index.js',
        'p/args.ts',
        'p/README.md',
      ]),
    ).toEqual(['p/args.ts', 'p/main.ts']);
    expect(preselectedEntry(['p/main.ts'])).toBe('p/main.ts');
    expect(preselectedEntry(['p/args.ts', 'p/main.ts'])).toBeUndefined();
    expect([
      isProgramFile('job.mts'),
      isProgramFile('x.d.ts'),
      isArchiveFile('p.TAR.GZ'),
      isArchiveFile('p.ts'),
    ]).toEqual([true, false, true, false]);
  });

  it('takes one program as itself, a folder pick with its paths, and refuses anything else', async () => {
    expect(await selectionOfFiles([file('job.ts', 'x')])).toMatchObject({
      kind: 'program',
      label: 'job.ts',
      size: 1,
    });
    const folder = await selectionOfFiles([
      file('b.ts', 'bb', 'proj/lib/b.ts'),
      file('main.ts', 'm', 'proj/main.ts'),
    ]);
    expect(folder).toMatchObject({
      kind: 'folder',
      label: 'proj/',
      paths: ['proj/lib/b.ts', 'proj/main.ts'],
      candidates: ['proj/lib/b.ts', 'proj/main.ts'],
      size: 3,
    });
    const several = await selectionOfFiles([file('a.ts'), file('b.ts')]);
    expect(several).toMatchObject({ kind: 'folder', label: '2 files', paths: ['a.ts', 'b.ts'] });
    const notes = await selectionOfFiles([file('notes.txt')]);
    expect(notes).toBeInstanceOf(Error);
    expect((notes as Error).message).toMatch(/^notes\.txt is not a program/);
    expect(await selectionOfFiles([])).toBeUndefined();
  });
});
