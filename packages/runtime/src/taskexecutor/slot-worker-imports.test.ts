/**
 * What a slot worker imports before its first record: every slot worker
 * (local mini-cluster, TaskManager) pays for its static module graph at
 * start-up, per worker thread. The connectors (and csv-parse / csv-stringify,
 * kafkajs and pg under them) are imported only by the jobs that use them
 * (`io/connectors-module.ts`), so they must not be reachable from the
 * worker's entry by static imports. This walks that graph as Node would load
 * it: each module transpiled with the repository's settings (type-only
 * imports erased exactly as the build erases them), workspace packages
 * resolved to their sources, dynamic `import()` not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const packagesDir = resolve(here, '../../..');
const builtins = new Set(builtinModules);

type ExportTarget = string | { '@freshet/source'?: string } | undefined;

/** The source file of a workspace package's export (`@freshet/api`, `@freshet/api/internal`). */
function workspaceEntry(specifier: string): string {
  const [, name, ...rest] = specifier.split('/');
  const dir = join(packagesDir, name!);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports: Record<string, ExportTarget>;
  };
  const target = pkg.exports[rest.length === 0 ? '.' : `./${rest.join('/')}`];
  const source = typeof target === 'object' ? target['@freshet/source'] : undefined;
  if (source === undefined) throw new Error(`no source export for ${specifier}`);
  return join(dir, source);
}

/** Specifiers of the static imports and re-exports Node evaluates for `file`. */
function staticImports(file: string): string[] {
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  }).outputText;
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (let m = re.exec(js); m !== null; m = re.exec(js)) out.push(m[1]!);
  return out;
}

/** The modules reachable from `entry` by static imports: repository files and third-party packages. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      let target: string;
      if (spec.startsWith('.')) {
        target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (!existsSync(target)) target = resolve(dirname(file), spec);
      } else if (spec.startsWith('@freshet/')) {
        target = workspaceEntry(spec);
      } else {
        if (!spec.startsWith('node:') && !builtins.has(spec)) {
          packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
        continue;
      }
      if (!files.has(target)) todo.push(target);
    }
  }
  return { files, packages };
}

describe("the slot worker's static module graph", () => {
  const { files, packages } = staticGraph(join(here, 'slot-worker.ts'));
  const rel = [...files].map((f) => f.slice(packagesDir.length + 1));

  it('is what runs tasks: the stream task, the window operator, the nexmark generator', () => {
    expect(rel).toContain('runtime/src/task/stream-task.ts');
    expect(rel).toContain('runtime/src/windows/window-operator.ts');
    expect(rel).toContain('runtime/src/io/connectors-module.ts');
    expect(rel).toContain('nexmark/src/generator.ts');
  });

  it('holds neither the connectors nor their clients and formats (a job loads them when it uses them)', () => {
    expect(rel.filter((f) => f.startsWith('connectors/'))).toEqual([]);
    expect([...packages].filter((p) => ['csv-parse', 'csv-stringify', 'kafkajs', 'pg'].includes(p))).toEqual(
      [],
    );
  });
});
