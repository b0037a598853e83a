import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileProgram, formatDiagnostic, planInSandbox } from '@freshet/planner';
import { writeBundle } from './bundle.js';
import { projectFiles, uploadFormFor } from './upload.js';

const examples = resolve(import.meta.dirname, '../../../../examples');
const scratch = mkdtempSync(join(tmpdir(), 'freshet-cli-upload-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('freshet bundle', () => {
  it('writes one module that the JobManager compiles alone and plans like the program', async () => {
    const output = join(scratch, 'out', 'wordcount.mjs');
    const written = await writeBundle(join(examples, 'wordcount/wordcount.ts'), output);
    const code = readFileSync(output, 'utf8');
    expect(written.bytes).toBe(Buffer.byteLength(code));
    expect(code).toContain('function parseArgs');
    // What artifacts.upload does with it: a one-file upload that may import only the API and built-ins.
    const compiled = await compileProgram(
      { source: code, filename: 'wordcount.mjs' },
      { cacheDir: join(scratch, 'cache') },
    );
    if (!compiled.ok) throw new Error(compiled.errors.map(formatDiagnostic).join('\n'));
    const plan = await planInSandbox(compiled.bundlePath, ['--input', '/tmp/words.txt']);
    expect(plan.graph.nodes.map((n) => n.name)).toContain('tokenize');
  });
});

describe('uploading a project directory', () => {
  it('sends every file with its path, following links once and skipping .git', async () => {
    const dir = join(scratch, 'proj');
    mkdirSync(join(dir, 'src'), { recursive: true });
    mkdirSync(join(dir, '.git'), { recursive: true });
    mkdirSync(join(dir, 'vendor'), { recursive: true });
    writeFileSync(join(dir, 'src/main.ts'), 'export default () => {};\n');
    writeFileSync(join(dir, '.git/HEAD'), 'ref\n');
    writeFileSync(join(dir, 'vendor/lib.js'), 'x\n');
    symlinkSync(join(dir, 'vendor'), join(dir, 'linked'));
    symlinkSync(dir, join(dir, 'vendor', 'loop'));
    expect(await projectFiles(dir)).toEqual(['linked/lib.js', 'src/main.ts', 'vendor/lib.js']);

    const { form, fileName } = await uploadFormFor(dir, 'src/main.ts');
    expect(fileName).toBe('proj/');
    expect(form.getAll('paths')).toEqual(['linked/lib.js', 'src/main.ts', 'vendor/lib.js']);
    expect(form.getAll('files')).toHaveLength(3);
    expect(form.get('entry')).toBe('src/main.ts');
    expect(form.get('name')).toBe('proj');
  });
});
