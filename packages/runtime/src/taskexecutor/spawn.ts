/**
 * Starting worker threads whose entry module sits next to the caller's
 * module: `worker.js` beside compiled code, `worker.ts` when running from
 * TypeScript sources (Vitest, tsx). For a TypeScript entry the worker first
 * registers tsx's loader and then imports the entry (Node 20 does not apply
 * `execArgv: ['--import', 'tsx']` to a worker's entry module, so a tiny
 * bootstrap does it), and resolves workspace packages to their sources
 * (`--conditions=@freshet/source`), like the parent.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** URL of module `name` (without extension) next to the module at `importMetaUrl`. */
export function siblingModule(importMetaUrl: string, name: string): URL {
  const ts = importMetaUrl.endsWith('.ts') || importMetaUrl.endsWith('.mts');
  return new URL(`./${name}${ts ? '.ts' : '.js'}`, importMetaUrl);
}

let tsxApi: string | undefined;
function tsxApiUrl(): string {
  if (tsxApi === undefined) {
    // The ESM entry of tsx's API (require.resolve would give the CommonJS one).
    const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
      exports: Record<string, { import?: { default?: string } }>;
    };
    const rel = pkg.exports['./esm/api']?.import?.default ?? './dist/esm/api/index.mjs';
    tsxApi = pathToFileURL(join(dirname(pkgPath), rel)).href;
  }
  return tsxApi;
}

/** Starts a worker on `entry`, through a tsx bootstrap when `entry` is TypeScript. */
export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const bootstrap =
    `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((e) => { setImmediate(() => { throw e; }); });`;
  return new Worker(bootstrap, {
    ...options,
    eval: true,
    execArgv: [...(options.execArgv ?? []), '--conditions=@freshet/source'],
  });
}
