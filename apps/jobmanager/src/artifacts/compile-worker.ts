/**
 * Worker thread that type-checks one upload. The TypeScript checker is
 * synchronous and takes seconds; off the main thread it cannot stall
 * heartbeats, state reports or the API. It starts no process (esbuild runs
 * on the main thread's long-lived service), so terminating it on a timeout
 * leaves nothing behind. (No user code runs here: checking only reads it.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { typecheckProgram } from '@freshet/planner';
import type { TypecheckRequest } from './compile.js';

const request = workerData as TypecheckRequest;
try {
  const errors =
    'project' in request
      ? typecheckProgram({ project: request.project, entry: request.entry })
      : typecheckProgram(
          { source: request.source, filename: request.filename },
          { resolveDir: request.resolveDir },
        );
  parentPort!.postMessage({ type: 'result', errors });
} catch (err) {
  parentPort!.postMessage({
    type: 'crash',
    message: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
}
