/**
 * Compiling an upload: esbuild bundles it on the main thread (esbuild works
 * in its own long-lived service process, which the main thread owns and
 * reaps), then the TypeScript checker runs in a worker thread. A worker that
 * starts no process can be terminated on a timeout without leaving a zombie
 * behind — the esbuild service a worker thread starts outlives it as one.
 */
import { Worker } from 'node:worker_threads';
import { compileProgram, type CompileResult, type ProgramDiagnostic } from '@freshet/planner';

/** What compiling a one-file upload needs. */
export interface FileCompileRequest {
  source: string;
  /** The sanitized display name (never a path). */
  filename: string;
  /** Where the bundle lands, as `<cacheDir>/<bundleSha256>.mjs`. */
  cacheDir: string;
  /** An existing, empty directory imports resolve from. */
  resolveDir: string;
}

/** What compiling an uploaded project needs: its files are written under `project`. */
export interface ProjectCompileRequest {
  /** The project's scratch directory (absolute), holding only its files. */
  project: string;
  /** The entry file, relative to `project`. */
  entry: string;
  /** Where the bundle lands, as `<cacheDir>/<bundleSha256>.mjs`. */
  cacheDir: string;
}

/** What compiling an upload needs. */
export type CompileRequest = FileCompileRequest | ProjectCompileRequest;

/** What the type-check worker needs. */
export type TypecheckRequest =
  | Pick<FileCompileRequest, 'source' | 'filename' | 'resolveDir'>
  | Pick<ProjectCompileRequest, 'project' | 'entry'>;

type WorkerReply = { type: 'result'; errors: ProgramDiagnostic[] } | { type: 'crash'; message: string };

const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './compile-worker.ts' : './compile-worker.js',
  import.meta.url,
);

/**
 * Bundles and type-checks an upload. A bundle is stored as soon as it is
 * built, even when type errors follow (it is content-addressed, and an
 * artifact row, not the file, makes a program uploaded).
 */
export async function compileUpload(request: CompileRequest, timeoutMs = 120_000): Promise<CompileResult> {
  const check: TypecheckRequest =
    'project' in request
      ? { project: request.project, entry: request.entry }
      : { source: request.source, filename: request.filename, resolveDir: request.resolveDir };
  const bundled =
    'project' in check
      ? await compileProgram(check, { cacheDir: request.cacheDir, typecheck: false })
      : await compileProgram(
          { source: check.source, filename: check.filename },
          { cacheDir: request.cacheDir, resolveDir: check.resolveDir, typecheck: false },
        );
  if (!bundled.ok) return bundled;
  const errors = await typecheckInWorker(check, timeoutMs);
  return errors.length > 0 ? { ok: false, file: bundled.file, errors, warnings: bundled.warnings } : bundled;
}

/** Type-checks an upload in a worker thread; JavaScript uploads have no errors. */
export function typecheckInWorker(
  request: TypecheckRequest,
  timeoutMs: number,
): Promise<ProgramDiagnostic[]> {
  if (!/\.m?ts$/i.test('project' in request ? request.entry : request.filename)) return Promise.resolve([]);
  return new Promise<ProgramDiagnostic[]>((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: request });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(() => {
      settle(() => {
        reject(new Error(`Type-checking the program took longer than ${timeoutMs} ms`));
      });
    }, timeoutMs);
    worker.once('message', (reply: WorkerReply) => {
      settle(() => {
        if (reply.type === 'result') resolve(reply.errors);
        else reject(new Error(`The type checker crashed: ${reply.message}`));
      });
    });
    worker.once('error', (err) => {
      settle(() => {
        reject(err);
      });
    });
    worker.once('exit', (code) => {
      settle(() => {
        reject(new Error(`The type-check worker exited with code ${code} before answering`));
      });
    });
  });
}
