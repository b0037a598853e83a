/**
 * Turning what the user names on the command line into an `artifacts.upload`
 * form: a program file (compiled and type-checked here first, so errors
 * point at local files, then sent as its source or, for several files, as
 * its bundle), a project directory (its files with their paths, compiled by
 * the JobManager), or a project archive (sent as it is).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { compileProgram, formatDiagnostic, type CompiledProgram } from '@freshet/planner';
import { CliError } from '../output.js';

/** The form to upload and the name it goes by. */
export interface UploadForm {
  form: FormData;
  fileName: string;
}

// The bundle's header that gives CommonJS dependencies a `require`; the
// JobManager compiles an uploaded bundle again and adds its own.
const REQUIRE_BANNER =
  "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);\n";

const ARCHIVE = /\.(zip|tar\.gz|tgz|tar)$/i;
/** Folders of a project directory that are never part of the program. */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn', '.freshet']);

/**
 * Compiles and type-checks a program file here, printing warnings and
 * errors (`file:line:column` with a code frame).
 *
 * @throws CliError when it does not compile
 */
export async function compileHere(file: string): Promise<CompiledProgram> {
  const compiled = await compileProgram({ path: file });
  for (const w of compiled.warnings) process.stderr.write(`warning: ${formatDiagnostic(w)}\n\n`);
  if (!compiled.ok) {
    for (const e of compiled.errors) process.stderr.write(`${formatDiagnostic(e)}\n\n`);
    const n = compiled.errors.length;
    throw new CliError(`${n} error${n === 1 ? '' : 's'} in ${compiled.file}`);
  }
  return compiled;
}

/**
 * Compiles and type-checks a program here and returns its bundle as a file
 * the JobManager compiles alone (`freshet bundle`, and the upload of a
 * program made of several files). Compile errors are printed and thrown.
 */
export async function bundleProgram(file: string): Promise<{ code: string; sources: number }> {
  const compiled = await compileHere(file);
  const code = await readFile(compiled.bundlePath, 'utf8');
  return {
    code: code.startsWith(REQUIRE_BANNER) ? code.slice(REQUIRE_BANNER.length) : code,
    sources: programSources(code),
  };
}

/**
 * The upload form for `target`: a directory or archive as a project (with
 * `entry`, its entry file's path inside it, when given), else a program file.
 */
export async function uploadFormFor(target: string, entry: string | undefined): Promise<UploadForm> {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) throw new CliError(`No such file or directory: ${target}`, 2);
  const form = new FormData();
  if (info.isDirectory()) {
    const name = basename(await realpath(target));
    for (const file of await projectFiles(target)) {
      form.append('files', new Blob([await readFile(join(target, ...file.split('/')))]), basename(file));
      form.append('paths', file);
    }
    form.append('name', name);
    if (entry !== undefined) form.append('entry', entry);
    return { form, fileName: `${name}/` };
  }
  if (ARCHIVE.test(target)) {
    form.append('file', new Blob([await readFile(target)]), basename(target));
    if (entry !== undefined) form.append('entry', entry);
    return { form, fileName: basename(target) };
  }
  if (entry !== undefined)
    throw new CliError('--entry is for a project directory or archive, not a program file', 2);
  const { code, sources } = await bundleProgram(target);
  if (sources === 1) {
    // A single-file program goes up as its source: exact source maps, the file's own name.
    form.append('file', new Blob([await readFile(target)]), basename(target));
    return { form, fileName: basename(target) };
  }
  const fileName = `${basename(target, extname(target))}.mjs`;
  form.append('file', new Blob([code]), fileName);
  return { form, fileName };
}

/**
 * Every file under `dir` as a `/`-separated path, in path order. Symbolic
 * links are followed (a pnpm `node_modules` is made of them, and each
 * package must appear where it is imported from); a link back to a folder
 * being read is skipped, so a cycle ends.
 */
export async function projectFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (abs: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const real = await realpath(abs);
    if (ancestors.has(real)) return;
    const inside = new Set(ancestors).add(real);
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      const child = join(abs, entry.name);
      const kind = entry.isSymbolicLink() ? await stat(child).catch(() => undefined) : entry;
      if (kind === undefined) continue;
      if (kind.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await visit(child, inside);
      } else if (kind.isFile()) {
        out.push(relative(dir, child).split(sep).join('/'));
      }
    }
  };
  await visit(dir, new Set());
  return out.sort();
}

/** Number of the program's own files in a bundle (from its inline source map); 0 when unknown. */
function programSources(bundle: string): number {
  const match = /\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)\s*$/.exec(bundle);
  if (match === null) return 0;
  try {
    const map = JSON.parse(Buffer.from(match[1]!, 'base64').toString('utf8')) as { sources?: unknown };
    if (!Array.isArray(map.sources)) return 0;
    return map.sources.filter((s) => typeof s === 'string' && !s.startsWith('freshet-api:')).length;
  } catch {
    return 0;
  }
}
