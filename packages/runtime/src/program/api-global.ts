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
import { loadConnectors } from '../io/connectors-module.js';

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

/**
 * Key of the global through which program bundles read the host's
 * `@freshet/connectors`: the connectors are provided like the API, so the
 * clients they use (kafkajs, pg) are never bundled into a program and every
 * program shares the host's connector classes.
 */
export const FRESHET_CONNECTORS_GLOBAL_KEY = 'freshet.connectors';

/** JavaScript source of the module that stands in for `@freshet/connectors` inside a bundle. */
export const CONNECTORS_SHIM_SOURCE = `const connectors = globalThis[Symbol.for(${JSON.stringify(FRESHET_CONNECTORS_GLOBAL_KEY)})];
if (!connectors) throw new Error("This Freshet program bundle must be loaded by a Freshet host (loadStreamGraph): @freshet/connectors is provided by the host");
module.exports = connectors;
`;

/**
 * Publishes this host's `@freshet/api` where program bundles look for it,
 * and its `@freshet/connectors` with `connectors: true` (imported first: a
 * thread whose programs use no connector never loads them). Idempotent.
 */
export async function installApiGlobal(options: { connectors?: boolean } = {}): Promise<void> {
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const key = Symbol.for(FRESHET_API_GLOBAL_KEY);
  if (holder[key] === undefined) holder[key] = api;
  if (options.connectors !== true) return;
  const connectors = await loadConnectors();
  const connectorsKey = Symbol.for(FRESHET_CONNECTORS_GLOBAL_KEY);
  if (holder[connectorsKey] === undefined) holder[connectorsKey] = connectors;
}

/** Whether a compiled bundle's source imports `@freshet/connectors` (its shim reads the connectors' global). */
export function bundleImportsConnectors(source: string): boolean {
  return source.includes(JSON.stringify(FRESHET_CONNECTORS_GLOBAL_KEY));
}
