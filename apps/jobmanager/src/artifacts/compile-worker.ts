/**
 * Worker thread that compiles and type-checks one upload. The TypeScript
 * checker is synchronous and takes seconds; off the main thread it cannot
 * stall heartbeats, state reports or the API. (No user code runs here:
 * compiling only reads the program.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileProgram } from '@freshet/planner';
import type { CompileRequest } from './compile.js';

const request = workerData as CompileRequest;
try {
  const result = await compileProgram(
    { source: request.source, filename: request.filename },
    { cacheDir: request.cacheDir, resolveDir: request.resolveDir },
  );
  parentPort!.postMessage({ type: 'result', result });
} catch (err) {
  parentPort!.postMessage({
    type: 'crash',
    message: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
}
