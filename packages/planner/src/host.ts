/**
 * Where this host's own install lives: the planner resolves `@freshet/api`'s
 * type declarations, `@types/node` and (when running from TypeScript sources)
 * `tsx` relative to itself, never relative to the program, because programs
 * live anywhere (temporary directories, uploads).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** True when the planner runs from its TypeScript sources (Vitest, tsx) rather than from `dist`. */
export const runningFromSources = import.meta.url.endsWith('.ts');

/** A file inside the planner package, used as the anchor for resolving host packages. */
export const hostAnchorFile = join(here, runningFromSources ? 'host.ts' : 'host.js');

/** Finds `node_modules/<name>` walking up from the planner's directory. */
export function findHostPackageDir(name: string): string | undefined {
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The plan child's entry script, next to this module (`.ts` from sources, `.js` from dist). */
export const planChildScript = join(here, runningFromSources ? 'plan-child.ts' : 'plan-child.js');
