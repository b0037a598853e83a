/**
 * Compiling a program: esbuild bundles it (ESM, node platform, inline source
 * map) with `@freshet/api` provided by the host, and the bundle is stored in
 * a content-addressed cache under its sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import * as esbuild from 'esbuild';
import { API_SHIM_SOURCE, CONNECTORS_SHIM_SOURCE } from '@freshet/runtime';
import { codeFrame } from './diagnostics.js';
import type { ProgramDiagnostic } from './diagnostics.js';
import { typecheckProgram } from './typecheck.js';

/**
 * A program to compile: a file on disk, source text with the name it was
 * uploaded under, or an uploaded project (a directory of files, possibly with
 * its own `node_modules`) and the path of its entry file inside it.
 */
export type ProgramInput = { path: string } | { source: string; filename: string } | ProjectInput;

/**
 * An uploaded project: every import must resolve inside `root` (relative
 * imports, and packages from the project's own `node_modules`); diagnostics
 * name files relative to `root`.
 */
export interface ProjectInput {
  /** Absolute directory of the project. */
  project: string;
  /** The entry file, relative to `project`, `/`-separated. */
  entry: string;
}

/** Whether `input` is an uploaded project. */
export function isProjectInput(input: ProgramInput): input is ProjectInput {
  return 'project' in input;
}

/** The file name an input is known by, for its extension. */
function inputFileName(input: ProgramInput): string {
  if ('source' in input) return input.filename;
  return 'project' in input ? input.entry : input.path;
}

/** `/`-separated path of `abs` relative to `root`, or undefined when outside it. */
export function insideRoot(root: string, abs: string): string | undefined {
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

/** Options of {@link compileProgram}. */
export interface CompileOptions {
  /**
   * Directory of the content-addressed bundle cache.
   * @default `<os tmpdir>/freshet/bundles`
   */
  cacheDir?: string;
  /**
   * Type-check the program (TypeScript only) after a successful bundle.
   * @default true
   */
  typecheck?: boolean;
  /**
   * Directory from which an uploaded source's imports resolve.
   * @default a fresh empty directory (single-file uploads import only `@freshet/api` and Node built-ins)
   */
  resolveDir?: string;
}

/** A compiled program. */
export interface CompiledProgram {
  ok: true;
  /** sha256 (hex) of the bundle: its identity everywhere (storage, TaskManagers, plan hash checks). */
  sha256: string;
  /** Where the bundle was written: `<cacheDir>/<sha256>.mjs`. */
  bundlePath: string;
  /** Size of the bundle in bytes. */
  size: number;
  /** The program's file as the user knows it. */
  file: string;
  /** esbuild warnings (the bundle was produced anyway). */
  warnings: ProgramDiagnostic[];
}

/** A program that did not compile: syntax, resolution or type errors. */
export interface CompileFailure {
  ok: false;
  /** The program's file as the user knows it. */
  file: string;
  errors: ProgramDiagnostic[];
  warnings: ProgramDiagnostic[];
}

/** Outcome of {@link compileProgram}. */
export type CompileResult = CompiledProgram | CompileFailure;

/** The default bundle cache directory. */
export const DEFAULT_CACHE_DIR = join(tmpdir(), 'freshet', 'bundles');

const LOADERS: Record<string, esbuild.Loader> = { '.ts': 'ts', '.mts': 'ts', '.js': 'js', '.mjs': 'js' };

/** Name of a file as shown in messages: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const abs = resolve(file);
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * esbuild plugin: `@freshet/api` and `@freshet/connectors` come from the
 * host (globals it sets); other `@freshet/*` packages are off limits.
 */
function providedApi(): esbuild.Plugin {
  return {
    name: 'freshet-provided-api',
    setup(build) {
      build.onResolve({ filter: /^@freshet\/api$/ }, () => ({
        path: '@freshet/api',
        namespace: 'freshet-api',
      }));
      build.onResolve({ filter: /^@freshet\/connectors$/ }, () => ({
        path: '@freshet/connectors',
        namespace: 'freshet-connectors',
      }));
      build.onResolve({ filter: /^@freshet\// }, (args) => ({
        errors: [
          {
            text: `Programs may import only '@freshet/api' and '@freshet/connectors' from Freshet, not '${args.path}'`,
          },
        ],
      }));
      build.onLoad({ filter: /.*/, namespace: 'freshet-api' }, () => ({
        contents: API_SHIM_SOURCE,
        loader: 'js',
      }));
      build.onLoad({ filter: /.*/, namespace: 'freshet-connectors' }, () => ({
        contents: CONNECTORS_SHIM_SOURCE,
        loader: 'js',
      }));
    },
  };
}

/**
 * esbuild plugin for uploads (a program given as source): it may import only
 * `@freshet/api` and Node built-ins. Without it an upload could pull any file
 * the host can read into its bundle (`import secrets from '/etc/app.json'`)
 * or into a diagnostic's code frame.
 */
function singleFileUpload(): esbuild.Plugin {
  return {
    name: 'freshet-single-file-upload',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || args.path.startsWith('@freshet/')) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        return {
          errors: [
            {
              text: `An uploaded program is one file: it may import only '@freshet/api' and Node built-ins, not '${args.path}' (bundle other files and packages with the CLI: freshet submit)`,
            },
          ],
        };
      });
    },
  };
}

/**
 * esbuild plugin for uploaded projects: an import must resolve to a file
 * inside the project (its own files and its own `node_modules`), or be a
 * Node built-in or `@freshet/api`. Resolution walking up past the project
 * into the host's directories is refused without naming what it found.
 */
function confinedProject(root: string): esbuild.Plugin {
  return {
    name: 'freshet-confined-project',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.path.startsWith('@freshet/')) return undefined;
        if ((args.pluginData as { confined?: boolean } | undefined)?.confined === true) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const found = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { confined: true },
        });
        const bare = !args.path.startsWith('.') && !isAbsolute(args.path);
        if (found.errors.length > 0 && !bare) return { errors: found.errors };
        if (
          found.errors.length === 0 &&
          (found.external || found.namespace !== 'file' || insideRoot(root, found.path) !== undefined)
        )
          return found;
        return {
          errors: [
            {
              text: bare
                ? `Could not resolve '${args.path}' in the project: add the package to the project's own node_modules`
                : `'${args.path}' is outside the project: a program may import only files of its project`,
            },
          ],
        };
      });
    },
  };
}

/**
 * Bundles a program with esbuild and stores the bundle under its sha256.
 *
 * `.ts`, `.mts`, `.js` and `.mjs` programs are accepted. Errors come back as
 * {@link ProgramDiagnostic}s positioned in the program's own source (render
 * them with `formatDiagnostic`). The bundle's file name derives from its
 * sha256 only, never from a client-supplied name.
 */
export async function compileProgram(
  input: ProgramInput,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const fromSource = 'source' in input;
  const project = isProjectInput(input) ? input : undefined;
  const file = fromSource ? input.filename : isProjectInput(input) ? input.entry : displayName(input.path);
  const ext = extname(inputFileName(input)).toLowerCase();
  const loader = LOADERS[ext];
  if (!loader) {
    const message = `Unsupported program file type '${ext || '(none)'}'; use .ts, .mts, .js or .mjs`;
    return { ok: false, file, errors: [{ file, line: 1, column: 1, message, codeFrame: '' }], warnings: [] };
  }

  let scratchDir: string | undefined;
  const workDir = fromSource
    ? (options.resolveDir ??
      (scratchDir = join(tmpdir(), `freshet-compile-${randomBytes(6).toString('hex')}`)))
    : project
      ? resolve(project.project)
      : process.cwd();
  if (scratchDir) await mkdir(scratchDir, { recursive: true });
  const sources = new SourceCache(
    fromSource ? { name: input.filename, text: input.source } : undefined,
    workDir,
    project ? workDir : undefined,
  );
  const projectTsconfig = project ? join(workDir, 'tsconfig.json') : undefined;

  let result: esbuild.BuildResult<{ write: false; sourcemap: 'external'; metafile: true }>;
  try {
    result = await esbuild.build({
      ...(fromSource
        ? { stdin: { contents: input.source, sourcefile: input.filename, loader, resolveDir: workDir } }
        : { entryPoints: [isProjectInput(input) ? join(workDir, input.entry) : resolve(input.path)] }),
      // A project's own tsconfig.json (paths, jsx) only: never one of the host's directories above it.
      ...(projectTsconfig === undefined
        ? {}
        : existsSync(projectTsconfig)
          ? { tsconfig: projectTsconfig }
          : { tsconfigRaw: '{}' }),
      absWorkingDir: workDir,
      outfile: join(workDir, '__freshet_bundle__.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // CommonJS dependencies bundled into ESM need a real `require` for Node built-ins.
      banner: {
        js: "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);",
      },
      plugins: fromSource
        ? [providedApi(), singleFileUpload()]
        : project
          ? [providedApi(), confinedProject(workDir)]
          : [providedApi()],
    });
  } catch (err) {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
    if (isBuildFailure(err)) {
      return {
        ok: false,
        file,
        errors: await Promise.all(err.errors.map((m) => sources.toDiagnostic(m, file))),
        warnings: await Promise.all(err.warnings.map((m) => sources.toDiagnostic(m, file))),
      };
    }
    throw err;
  }
  if (scratchDir) await rm(scratchDir, { recursive: true, force: true });

  const warnings = await Promise.all(result.warnings.map((m) => sources.toDiagnostic(m, file)));
  // Found here, the missing default export is named by the user's file (the runtime only sees the bundle).
  const exported = Object.values(result.metafile.outputs).some((o) => o.exports.includes('default'));
  if (!exported) {
    const message = `${file} has no default export: a program exports its pipeline, e.g. \`export default defineProgram((env, args) => { ... })\``;
    return { ok: false, file, errors: [{ file, line: 1, column: 1, message, codeFrame: '' }], warnings };
  }
  if (options.typecheck !== false && loader === 'ts') {
    const typeErrors = typecheckProgram(input, options.resolveDir ? { resolveDir: options.resolveDir } : {});
    if (typeErrors.length > 0) return { ok: false, file, errors: typeErrors, warnings };
  }

  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!js || !map) throw new Error('esbuild produced no bundle');
  const code = inlineSourceMap(
    js.text,
    map.text,
    workDir,
    fromSource ? input.filename : undefined,
    project !== undefined,
  );
  const sha256 = createHash('sha256').update(code).digest('hex');
  const bundlePath = await storeBundle(options.cacheDir ?? DEFAULT_CACHE_DIR, sha256, code);
  return { ok: true, sha256, bundlePath, size: Buffer.byteLength(code), file, warnings };
}

/**
 * Appends the source map inline, with every source turned into an absolute
 * `file:` URL (so Node's stack traces show the program's real path wherever
 * the bundle is stored) or, for an upload, `program:<filename>` (a project's
 * files: `program:<path in the project>`, never the JobManager's scratch path).
 */
function inlineSourceMap(
  js: string,
  mapText: string,
  workDir: string,
  uploadName: string | undefined,
  project: boolean,
): string {
  const map = JSON.parse(mapText) as { sources: string[] };
  map.sources = map.sources.map((s) => {
    if (s.startsWith('freshet-api:') || s.startsWith('freshet-connectors:')) return s;
    if (uploadName !== undefined && s === uploadName) return `program:${uploadName}`;
    if (project) return `program:${insideRoot(workDir, resolve(workDir, s)) ?? s}`;
    return pathToFileURL(resolve(workDir, s)).href;
  });
  const body = js.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  const b64 = Buffer.from(JSON.stringify(map)).toString('base64');
  return `${body}//# sourceMappingURL=data:application/json;charset=utf-8;base64,${b64}\n`;
}

/** Writes the bundle atomically under `<sha256>.mjs` unless it is already there. */
async function storeBundle(cacheDir: string, sha256: string, code: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const target = join(cacheDir, `${sha256}.mjs`);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isFile()) return target;
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, target);
  return target;
}

function isBuildFailure(err: unknown): err is esbuild.BuildFailure {
  return err instanceof Error && Array.isArray((err as Partial<esbuild.BuildFailure>).errors);
}

/** Source texts for code frames: the upload, or files read from disk. */
class SourceCache {
  private readonly texts = new Map<string, Promise<string | undefined>>();
  constructor(
    private readonly upload: { name: string; text: string } | undefined,
    private readonly workDir: string,
    /** A project's root: files are named relative to it, and only its files are read for code frames. */
    private readonly projectRoot?: string,
  ) {}

  async toDiagnostic(message: esbuild.Message, entryFile: string): Promise<ProgramDiagnostic> {
    const loc = message.location;
    if (!loc) return { file: entryFile, line: 1, column: 1, message: message.text, codeFrame: '' };
    const upload = this.upload !== undefined && loc.file === this.upload.name ? this.upload : undefined;
    const abs = resolve(this.workDir, loc.file);
    const inProject = this.projectRoot === undefined ? undefined : insideRoot(this.projectRoot, abs);
    const file = upload
      ? loc.file
      : this.projectRoot !== undefined
        ? (inProject ?? loc.file)
        : displayName(abs);
    const readable = upload === undefined && (this.projectRoot === undefined || inProject !== undefined);
    const text = upload ? upload.text : readable ? await this.read(abs) : undefined;
    // esbuild columns are 0-based; ours are 1-based like editors'.
    const column = loc.column + 1;
    return {
      file,
      line: loc.line,
      column,
      message: message.text,
      codeFrame: text ? codeFrame(text, loc.line, column) : '',
    };
  }

  private read(path: string): Promise<string | undefined> {
    let p = this.texts.get(path);
    if (!p) {
      p = readFile(path, 'utf8').catch(() => undefined);
      this.texts.set(path, p);
    }
    return p;
  }
}
