/**
 * Type-checking a program with the TypeScript compiler API against the
 * host's `@freshet/api` types (strict). Programs live anywhere (temporary
 * directories, uploads), so `@freshet/api` and `@types/node` resolve from the
 * host install, not from the program's directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import ts from 'typescript';
import { codeFrame } from './diagnostics.js';
import type { ProgramDiagnostic } from './diagnostics.js';
import { findHostPackageDir, hostAnchorFile, runningFromSources } from './host.js';
import { displayName, insideRoot, isProjectInput } from './compile.js';
import type { ProgramInput } from './compile.js';

/** Options of {@link typecheckProgram}. */
export interface TypecheckOptions {
  /** Directory an uploaded source is checked as if it lived in. @default a fresh temporary path */
  resolveDir?: string;
}

function compilerOptions(): ts.CompilerOptions {
  const nodeTypes = findHostPackageDir('@types/node');
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    // Programs are bundled by esbuild: resolve like a bundler (extensionless and .ts imports allowed).
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    esModuleInterop: true,
    skipLibCheck: true,
    isolatedModules: true,
    resolveJsonModule: true,
    // From sources (tests, tsx) the API's types are its TypeScript sources; from dist, its declarations.
    ...(runningFromSources ? { customConditions: ['@freshet/source'] } : {}),
    ...(nodeTypes ? { typeRoots: [dirname(nodeTypes)], types: ['node'] } : { types: [] }),
  };
}

/**
 * Type-checks a TypeScript program (strict) and returns its errors, empty
 * when it is well typed. JavaScript programs are not checked. Only errors in
 * the program's own files are reported (not in the API or other packages).
 */
export function typecheckProgram(input: ProgramInput, options: TypecheckOptions = {}): ProgramDiagnostic[] {
  const fromSource = 'source' in input;
  const project = isProjectInput(input) ? resolve(input.project) : undefined;
  const ext = extname(
    fromSource ? input.filename : isProjectInput(input) ? input.entry : input.path,
  ).toLowerCase();
  if (ext !== '.ts' && ext !== '.mts') return [];

  const rootFile = fromSource
    ? join(
        options.resolveDir ?? join(tmpdir(), `freshet-upload-${randomBytes(6).toString('hex')}`),
        basename(input.filename),
      )
    : isProjectInput(input)
      ? join(resolve(input.project), input.entry)
      : resolve(input.path);
  const display = (fileName: string): string => {
    if (fromSource && resolve(fileName) === rootFile) return input.filename;
    if (project !== undefined) return insideRoot(project, resolve(fileName)) ?? basename(fileName);
    return displayName(fileName);
  };

  const opts = compilerOptions();
  const host = ts.createCompilerHost(opts, true);
  if (fromSource) {
    // The upload exists only in memory: serve it to the compiler as if it were on disk.
    const disk = ts.createCompilerHost(opts, true);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
      resolve(fileName) === rootFile
        ? ts.createSourceFile(fileName, input.source, languageVersion, true)
        : disk.getSourceFile(fileName, languageVersion, onError, shouldCreate);
    host.fileExists = (fileName) => resolve(fileName) === rootFile || disk.fileExists(fileName);
    host.readFile = (fileName) => (resolve(fileName) === rootFile ? input.source : disk.readFile(fileName));
  }
  // An upload (one file or a project) is checked with reads confined to its
  // own directory and the host's type packages: a type-only import, which
  // esbuild drops before resolving it, must not pull a host file into a
  // diagnostic (`typeof import('/etc/app.json')`).
  if (fromSource || project !== undefined) confineReads(host, project ?? dirname(rootFile));
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (s) => s, opts);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOpts) =>
    literals.map((literal) => {
      // The API and the connectors are provided by the host: resolve them from the planner's own install.
      const from =
        literal.text === '@freshet/api' || literal.text === '@freshet/connectors'
          ? hostAnchorFile
          : containingFile;
      return ts.resolveModuleName(literal.text, from, compilerOpts, host, cache, redirected);
    });

  const program = ts.createProgram({ rootNames: [rootFile], options: opts, host });
  const roots = hostRoots();
  const ownFile = (sf: ts.SourceFile): boolean => {
    if (sf.isDeclarationFile || sf.fileName.includes('/node_modules/')) return false;
    const abs = resolve(sf.fileName);
    if (project !== undefined) return insideRoot(project, abs) !== undefined;
    return abs === rootFile || !roots.some((r) => abs.startsWith(r));
  };

  const diagnostics = [
    ...program.getSyntacticDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSemanticDiagnostics(),
  ];
  const out: ProgramDiagnostic[] = [];
  for (const d of diagnostics) {
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) {
      out.push({ file: display(rootFile), line: 1, column: 1, message, codeFrame: '' });
      continue;
    }
    if (!ownFile(d.file)) continue;
    const pos = d.file.getLineAndCharacterOfPosition(d.start);
    const line = pos.line + 1;
    const column = pos.character + 1;
    out.push({
      file: display(d.file.fileName),
      line,
      column,
      message,
      codeFrame: codeFrame(d.file.text, line, column),
    });
  }
  return out;
}

/**
 * Limits what the compiler may read to `ownDir`, TypeScript's own library,
 * the host's Freshet packages and any `node_modules` directory (public
 * packages the host installed, e.g. `@types/node`): nothing else of the
 * host's file system is visible to an uploaded program's type-check.
 */
function confineReads(host: ts.CompilerHost, ownDir: string): void {
  const allowed = [
    resolve(ownDir) + sep,
    dirname(resolve(ts.getDefaultLibFilePath({}))) + sep,
    ...hostRoots(),
  ];
  const visible = (fileName: string): boolean => {
    const abs = resolve(fileName);
    return (
      abs.includes(`${sep}node_modules${sep}`) ||
      allowed.some((root) => abs.startsWith(root) || `${abs}${sep}` === root)
    );
  };
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const realpath = host.realpath?.bind(host);
  host.fileExists = (fileName) => visible(fileName) && fileExists(fileName);
  host.readFile = (fileName) => (visible(fileName) ? readFile(fileName) : undefined);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    visible(fileName) ? getSourceFile(fileName, languageVersion, onError, shouldCreate) : undefined;
  if (realpath) host.realpath = (path) => (visible(path) ? realpath(path) : path);
}

/**
 * Real directories of the host's `@freshet/api`, `@freshet/connectors` and
 * the Freshet packages the API depends on: when they resolve to their
 * TypeScript sources, errors there are not the program's.
 */
function hostRoots(): string[] {
  const apiDir = findHostPackageDir('@freshet/api');
  if (!apiDir) return [];
  const roots = [realpathSync(apiDir) + sep];
  const connectorsDir = findHostPackageDir('@freshet/connectors');
  if (connectorsDir) roots.push(realpathSync(connectorsDir) + sep);
  try {
    const pkg = JSON.parse(readFileSync(join(apiDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      if (!dep.startsWith('@freshet/')) continue;
      const depDir = join(apiDir, 'node_modules', dep);
      if (existsSync(depDir)) roots.push(realpathSync(depDir) + sep);
    }
  } catch {
    // Without a readable manifest only the API itself counts as host code.
  }
  return roots;
}
