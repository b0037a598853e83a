/**
 * Loading a compiled program bundle and running its plan in this process.
 * Used by the planner's isolated plan child, by every worker thread of the
 * local mini-cluster and by TaskManagers: each re-runs the plan to bind user
 * functions to operator ids, which is why planning must be deterministic.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import type { Program } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import {
  planOverridesOf,
  type PlanOverrides,
  type ProgramInvocation,
  type StreamGraph,
} from '@freshet/graph';
import { bundleImportsConnectors, installApiGlobal } from './api-global.js';
import { defineErrorClass, InvalidProgramError } from '@freshet/errors';

/**
 * What is needed to re-create a job's StreamGraph from its bundle: where the
 * bundle is, and the program's invocation (arguments and plan overrides).
 */
export interface ProgramSpec extends ProgramInvocation {
  /** Path of the compiled ESM bundle (as written by `@freshet/planner`'s `compileProgram`). */
  bundlePath: string;
}

/** Settings that take precedence over what the program sets on its environment. */
export type { PlanOverrides };

/** A program's default export, as `buildStreamGraph` receives it. */
export type ProgramMain = Program;

/** A bundle could not be loaded as a Freshet program (no default export function, or not a bundle at all). */
export class ProgramLoadError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'ProgramLoadError', 'INVALID_PROGRAM');
  }
}

/**
 * A program planned to another JobGraph where its job runs than where it was
 * planned (it is not deterministic). Code `INVALID_PROGRAM`.
 */
export class PlanMismatchError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'PlanMismatchError', 'INVALID_PROGRAM');
  }
}

/**
 * Imports a compiled bundle and returns its default export (the program).
 *
 * Source maps are enabled process-wide first, so stack traces through user
 * functions show the program's own `file:line:column`. Node caches modules by
 * URL: loading the same bundle twice in one process evaluates its top level
 * once, while every plan run calls the default export afresh.
 *
 * `@freshet/connectors` is imported first only when the bundle imports it
 * (most programs do not, and it is a large module graph).
 */
export async function loadProgram(bundlePath: string): Promise<ProgramMain> {
  process.setSourceMapsEnabled(true);
  const path = isAbsolute(bundlePath) ? bundlePath : resolve(bundlePath);
  // A bundle that cannot be read fails in the import below, with Node's own error.
  const source = await readFile(path, 'utf8').catch(() => '');
  await installApiGlobal({ connectors: bundleImportsConnectors(source) });
  const url = pathToFileURL(path).href;
  const mod = (await import(/* @vite-ignore */ url)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    throw new ProgramLoadError(
      `Program ${bundlePath} has no default export function; write \`export default (env, args) => { ... }\``,
    );
  }
  return mod.default as ProgramMain;
}

/**
 * Loads a bundle and runs its plan: the program builds its pipeline on a
 * fresh environment and no data flows. Exceptions of the program propagate
 * unchanged (with source-mapped stacks).
 */
export async function loadStreamGraph(spec: ProgramSpec): Promise<StreamGraph> {
  const program = await loadProgram(spec.bundlePath);
  return buildStreamGraph(program, spec.args, planOverridesOf(spec));
}
