import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileProgram } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { typecheckProgram } from './typecheck.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const fixture = (name: string) => join(fixtures, name);
const shown = (name: string) => relative(process.cwd(), fixture(name));
const cacheDir = mkdtempSync(join(tmpdir(), 'freshet-planner-compile-'));
afterAll(() => {
  rmSync(cacheDir, { recursive: true, force: true });
});

function sourceMapOf(bundlePath: string): { sources: string[] } {
  const b64 = /sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)/.exec(
    readFileSync(bundlePath, 'utf8'),
  )?.[1];
  return JSON.parse(Buffer.from(b64 ?? '', 'base64').toString('utf8')) as { sources: string[] };
}

describe('compileProgram', () => {
  it('bundles a TypeScript program under its sha256, with the API left to the host', async () => {
    const first = await compileProgram({ path: fixture('wordcount.ts') }, { cacheDir });
    if (!first.ok) throw new Error(first.errors.map(formatDiagnostic).join('\n'));
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.bundlePath).toBe(join(cacheDir, `${first.sha256}.mjs`));
    const code = readFileSync(first.bundlePath, 'utf8');
    expect(code).toContain('Symbol.for("freshet.api")');
    expect(code).not.toMatch(/class StreamExecutionEnvironment/);
    expect(sourceMapOf(first.bundlePath).sources).toContain(`file://${fixture('wordcount.ts')}`);
    const second = await compileProgram({ path: fixture('wordcount.ts') }, { cacheDir });
    expect(second.ok && second.sha256).toBe(first.sha256);
  });

  it('reports a syntax error with file:line:column and a code frame', async () => {
    const result = await compileProgram({ path: fixture('syntax-error.ts') }, { cacheDir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors;
    expect(error).toMatchObject({
      file: shown('syntax-error.ts'),
      line: 5,
      column: 31,
      message: 'Expected ";" but found ")"',
    });
    expect(formatDiagnostic(error!)).toBe(
      [
        `${shown('syntax-error.ts')}:5:31: Expected ";" but found ")"`,
        '  3 | export default (env: StreamExecutionEnvironment) => {',
        '  4 |   env.fromElements(1, 2, 3)',
        '> 5 |     .map((x: number) => x * 2))',
        '    |                               ^',
        '  6 |     .print();',
        '  7 | };',
      ].join('\n'),
    );
  });

  it('reports a type error with file:line:column and a code frame', async () => {
    const result = await compileProgram({ path: fixture('type-error.ts') }, { cacheDir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatDiagnostic)).toEqual([
      [
        `${shown('type-error.ts')}:4:9: Type 'number' is not assignable to type 'string'.`,
        '  2 |',
        '  3 | export default (env: StreamExecutionEnvironment) => {',
        '> 4 |   const label: string = env.getParallelism();',
        '    |         ^',
        '  5 |   env.fromElements(label).print();',
        '  6 | };',
      ].join('\n'),
    ]);
  });

  it('checks an upload against the host API wherever it lives, and names the bundle by its hash only', async () => {
    const source =
      "import { OutputTag } from '@freshet/api';\nconst tag: OutputTag<number> = new OutputTag<string>('x');\nexport default () => tag;\n";
    const bad = await compileProgram({ source, filename: '../../etc/evil.ts' }, { cacheDir });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors[0]).toMatchObject({ file: '../../etc/evil.ts', line: 2, column: 7 });
      expect(bad.errors[0]!.message).toMatch(
        /OutputTag<string>' is not assignable to type 'OutputTag<number>/,
      );
    }
    const good = await compileProgram(
      { source: source.replace('<string>', '<number>'), filename: '../../etc/evil.ts' },
      { cacheDir },
    );
    if (!good.ok) throw new Error(good.errors.map(formatDiagnostic).join('\n'));
    expect(dirname(good.bundlePath)).toBe(cacheDir);
    expect(basename(good.bundlePath)).toBe(`${good.sha256}.mjs`);
    expect(sourceMapOf(good.bundlePath).sources).toContain('program:../../etc/evil.ts');
  });

  it('provides @freshet/connectors like the API: an upload type-checks against it and its bundle does not contain it', async () => {
    const source = [
      "import { WatermarkStrategy, type StreamExecutionEnvironment } from '@freshet/api';",
      "import { FileSource, textLines } from '@freshet/connectors';",
      'export default (env: StreamExecutionEnvironment) => {',
      "  const lines = env.fromSource(FileSource.forFormat(textLines(), '/tmp/in').build(), WatermarkStrategy.noWatermarks(), 'in');",
      '  const n: number = lines.map((l) => l.length).getExecutionEnvironment().getParallelism();',
      '  lines.map((l): string => l).print(String(n));',
      '};',
      '',
    ].join('\n');
    const good = await compileProgram({ source, filename: 'files.ts' }, { cacheDir });
    if (!good.ok) throw new Error(good.errors.map(formatDiagnostic).join('\n'));
    const bundle = readFileSync(good.bundlePath, 'utf8');
    expect(bundle).toContain('Symbol.for("freshet.connectors")');
    expect(bundle).not.toContain('class FileSourceBuilder');
    const bad = await compileProgram(
      { source: source.replace('(l): string => l', '(l): number => l'), filename: 'files.ts' },
      { cacheDir },
    );
    expect(!bad.ok && bad.errors[0]!.message).toMatch(/'string' is not assignable to type 'number'/);
  });

  it('bundles JavaScript programs without type-checking them', async () => {
    const result = await compileProgram({ path: fixture('plain.mjs') }, { cacheDir });
    expect(result.ok).toBe(true);
    expect(typecheckProgram({ path: fixture('plain.mjs') })).toEqual([]);
  });

  it('refuses other Freshet packages and unknown file types', async () => {
    const internal = await compileProgram(
      {
        source: "import { NO_TIMESTAMP } from '@freshet/runtime';\nexport default () => NO_TIMESTAMP;\n",
        filename: 'x.ts',
      },
      { cacheDir, typecheck: false },
    );
    expect(!internal.ok && internal.errors[0]).toMatchObject({
      file: 'x.ts',
      line: 1,
      message:
        "Programs may import only '@freshet/api' and '@freshet/connectors' from Freshet, not '@freshet/runtime'",
    });
    const python = await compileProgram({ source: 'print(1)', filename: 'job.py' }, { cacheDir });
    expect(!python.ok && python.errors[0]!.message).toMatch(/Unsupported program file type '.py'/);
    expect(existsSync(join(cacheDir, 'job.py'))).toBe(false);
  });

  it("names the user's file when the program has no default export", async () => {
    const r = await compileProgram(
      {
        source:
          "import type { StreamExecutionEnvironment } from '@freshet/api';\nexport const main = (env: StreamExecutionEnvironment) => env;\n",
        filename: 'hello.ts',
      },
      { cacheDir, typecheck: false },
    );
    expect(!r.ok && r.errors[0]).toMatchObject({ file: 'hello.ts', line: 1 });
    expect(!r.ok && r.errors[0]!.message).toMatch(
      /^hello\.ts has no default export: a program exports its pipeline/,
    );
  });
});

describe('compileProgram on an uploaded project', () => {
  /** Writes `files` (path → text) under a fresh directory; returns the directory that holds `project/`. */
  function writeProject(files: Record<string, string>): { outer: string; root: string } {
    const outer = mkdtempSync(join(tmpdir(), 'freshet-project-'));
    const root = join(outer, 'project');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return { outer, root };
  }
  const projects: string[] = [];
  afterAll(() => {
    for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  });
  const project = (files: Record<string, string>): { outer: string; root: string } => {
    const p = writeProject(files);
    projects.push(p.outer);
    return p;
  };

  const main = [
    "import { defineProgram } from '@freshet/api';",
    "import { double } from './lib/helper.js';",
    "import pad from 'tiny-pad';",
    '',
    'export default defineProgram((env) => {',
    '  env.fromElements(1, 2, 3).map((n: number) => pad(String(double(n)))).print();',
    '});',
    '',
  ].join('\n');
  const helper = 'export function double(n: number): number {\n  return n * 2;\n}\n';
  const pkg = {
    'node_modules/tiny-pad/package.json': JSON.stringify({ name: 'tiny-pad', main: 'index.js' }),
    'node_modules/tiny-pad/index.js':
      "module.exports = function pad(s) { return ('    ' + s).slice(-4); };\n",
    'node_modules/tiny-pad/index.d.ts': 'declare function pad(s: string): string;\nexport = pad;\n',
  };

  it('bundles relative imports and the project’s own node_modules, naming sources inside the project', async () => {
    const { root } = project({
      'src/main.ts': main.replace("'./lib/helper.js'", "'../lib/helper.js'"),
      'lib/helper.ts': helper,
      ...pkg,
    });
    const result = await compileProgram({ project: root, entry: 'src/main.ts' }, { cacheDir });
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
    expect(result.file).toBe('src/main.ts');
    expect(sourceMapOf(result.bundlePath).sources.sort()).toEqual([
      'freshet-api:@freshet/api',
      'program:lib/helper.ts',
      'program:node_modules/tiny-pad/index.js',
      'program:src/main.ts',
    ]);
    expect(readFileSync(result.bundlePath, 'utf8')).not.toContain(root);
  });

  it('points a type error at the file, line and column inside the project', async () => {
    const { root } = project({
      'main.ts': main,
      'lib/helper.ts':
        'export function double(n: number): number {\n  const s: string = n;\n  return n * 2;\n}\n',
      ...pkg,
    });
    const result = await compileProgram({ project: root, entry: 'main.ts' }, { cacheDir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ file: 'lib/helper.ts', line: 2, column: 9 });
    expect(result.errors[0]!.codeFrame).toContain('> 2 |   const s: string = n;');
  });

  it('points a syntax error at the imported file', async () => {
    const { root } = project({
      'main.ts': main,
      'lib/helper.ts': 'export function double(n: number): number {\n  return n * ;\n}\n',
      ...pkg,
    });
    const result = await compileProgram({ project: root, entry: 'main.ts' }, { cacheDir });
    expect(!result.ok && result.errors[0]).toMatchObject({ file: 'lib/helper.ts', line: 2, column: 14 });
  });

  it('refuses imports outside the project and packages it does not carry', async () => {
    const { root, outer } = project({
      'main.ts': "import secret from '../secret.js';\nexport default () => secret;\n",
    });
    writeFileSync(join(outer, 'secret.js'), "export default 'hunter2';\n");
    const outside = await compileProgram({ project: root, entry: 'main.ts' }, { cacheDir });
    expect(!outside.ok && outside.errors[0]).toMatchObject({ file: 'main.ts', line: 1 });
    expect(!outside.ok && outside.errors[0]!.message).toMatch(/'..\/secret.js' is outside the project/);
    // zod is installed on the host, above the project, but not in the project.
    const { root: root2 } = project({ 'main.ts': "import { z } from 'zod';\nexport default () => z;\n" });
    const bare = await compileProgram({ project: root2, entry: 'main.ts' }, { cacheDir });
    expect(!bare.ok && bare.errors[0]!.message).toBe(
      "Could not resolve 'zod' in the project: add the package to the project's own node_modules",
    );
  });

  it('does not let a type-only import read a file outside the project', async () => {
    const { root, outer } = project({
      'main.ts': "const leak: number = {} as typeof import('../secret.json');\nexport default () => leak;\n",
    });
    writeFileSync(join(outer, 'secret.json'), JSON.stringify({ password: 'hunter2' }));
    const result = await compileProgram({ project: root, entry: 'main.ts' }, { cacheDir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(JSON.stringify(result.errors)).not.toContain('hunter2');
    expect(result.errors[0]!.message).toMatch(/Cannot find module '..\/secret.json'/);
  });
});
