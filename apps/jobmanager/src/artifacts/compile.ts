import { Worker } from 'node:worker_threads';
import type { CompileResult } from '@freshet/planner';

/** What the compile worker needs. */
export interface CompileRequest {
  source: string;
  /** The sanitized display name (never a path). */
  filename: string;
  /** Where the bundle lands, as `<cacheDir>/<bundleSha256>.mjs`. */
  cacheDir: string;
  /** An existing, empty directory imports resolve from. */
  resolveDir: string;
}

type WorkerReply = { type: 'result'; result: CompileResult } | { type: 'crash'; message: string };

const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './compile-worker.ts' : './compile-worker.js',
  import.meta.url,
);

/** Compiles (and type-checks) an upload in a worker thread. */
export function compileInWorker(request: CompileRequest, timeoutMs = 120_000): Promise<CompileResult> {
  return new Promise<CompileResult>((resolve, reject) => {
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
        reject(new Error(`Compiling the program took longer than ${timeoutMs} ms`));
      });
    }, timeoutMs);
    worker.once('message', (reply: WorkerReply) => {
      settle(() => {
        if (reply.type === 'result') resolve(reply.result);
        else reject(new Error(`The compiler crashed: ${reply.message}`));
      });
    });
    worker.once('error', (err) => {
      settle(() => {
        reject(err);
      });
    });
    worker.once('exit', (code) => {
      settle(() => {
        reject(new Error(`The compile worker exited with code ${code} before answering`));
      });
    });
  });
}
