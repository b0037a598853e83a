/**
 * Compiling an upload: esbuild bundles it on the main thread (esbuild works
 * in its own long-lived service process, which the main thread owns and
 * reaps), then the TypeScript checker runs in a worker thread. A worker that
 * starts no process can be terminated on a timeout without leaving a zombie
 * behind — the esbuild service a worker thread starts outlives it as one.
 */
import { Worker } from 'node:worker_threads';
import { compileProgram, type CompileResult, type ProgramDiagnostic } from '@freshet/planner';

/** What compiling an upload needs. */
export interface CompileRequest {
  source: string;
  /** The sanitized display name (never a path). */
  filename: string;
  /** Where the bundle lands, as `<cacheDir>/<bundleSha256>.mjs`. */
  cacheDir: string;
  /** An existing, empty directory imports resolve from. */
  resolveDir: string;
}

/** What the type-check worker needs. */
export type TypecheckRequest = Pick<CompileRequest, 'source' | 'filename' | 'resolveDir'>;

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
  const bundled = await compileProgram(
    { source: request.source, filename: request.filename },
    { cacheDir: request.cacheDir, resolveDir: request.resolveDir, typecheck: false },
  );
  if (!bundled.ok) return bundled;
  const errors = await typecheckInWorker(request, timeoutMs);
  return errors.length > 0 ? { ok: false, file: bundled.file, errors, warnings: bundled.warnings } : bundled;
}

/** Type-checks an upload in a worker thread; JavaScript uploads have no errors. */
export function typecheckInWorker(request: TypecheckRequest, timeoutMs: number): Promise<ProgramDiagnostic[]> {
  if (!/\.m?ts$/i.test(request.filename)) return Promise.resolve([]);
  return new Promise<ProgramDiagnostic[]>((resolve, reject) => {
    const worker = new Worker(workerUrl, {
      workerData: { source: request.source, filename: request.filename, resolveDir: request.resolveDir },
    });
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
