/**
 * How a compiled program reaches the host's `@freshet/api`.
 *
 * Program bundles do not contain the API (it is "provided", as in Flink): the
 * compiler replaces every `import ... from '@freshet/api'` with a read of a
 * well-known global that the host sets before it imports the bundle. A
 * global (rather than a module-resolution hook) works the same under Node,
 * tsx, Vitest, in worker threads and in child processes, wherever the bundle
 * file lives, and it guarantees the program shares the host's classes
 * (`OutputTag`, descriptors, the environment) instead of a second copy.
 */
import * as api from '@freshet/api';

/** Key of the global through which program bundles read the host's `@freshet/api` module. */
export const FRESHET_API_GLOBAL_KEY = 'freshet.api';

/**
 * JavaScript source of the module that stands in for `@freshet/api` inside a
 * bundle (a CommonJS module, so esbuild resolves named imports lazily and no
 * export list has to be known at compile time).
 */
export const API_SHIM_SOURCE = `const api = globalThis[Symbol.for(${JSON.stringify(FRESHET_API_GLOBAL_KEY)})];
if (!api) throw new Error("This Freshet program bundle must be loaded by a Freshet host (loadStreamGraph): @freshet/api is provided by the host");
module.exports = api;
`;

/** Publishes this host's `@freshet/api` where program bundles look for it. Idempotent. */
export function installApiGlobal(): void {
  const key = Symbol.for(FRESHET_API_GLOBAL_KEY);
  const holder = globalThis as unknown as Record<symbol, unknown>;
  if (holder[key] === undefined) holder[key] = api;
}
