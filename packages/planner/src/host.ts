/**
 * Where this host's own install lives: the planner resolves `@freshet/api`'s
 * type declarations, `@types/node` and (when running from TypeScript sources)
 * `tsx` relative to itself, never relative to the program, because programs
 * live anywhere (temporary directories, uploads).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
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

let builtChild: Promise<string> | undefined;

/**
 * The script the plan child runs: `plan-child.js` from dist. From TypeScript
 * sources (tests) the child and the packages it loads are bundled once per
 * process into one JavaScript file under the planner's `node_modules/.cache`,
 * so the child needs no TypeScript loader — a loader would need a hooks
 * thread and an esbuild process, which the sandbox's permission model forbids.
 */
export function planChildEntry(): Promise<string> {
  if (!runningFromSources) return Promise.resolve(planChildScript);
  return (builtChild ??= (async () => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [planChildScript],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      conditions: ['@freshet/source'],
      write: false,
      logLevel: 'silent',
      // Bundled CommonJS dependencies need a real `require` for Node built-ins.
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    const code = result.outputFiles[0]!.text;
    const dir = join(here, '..', 'node_modules', '.cache', 'freshet-plan-child');
    await mkdir(dir, { recursive: true });
    const target = join(
      dir,
      `plan-child-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`,
    );
    if (!existsSync(target)) {
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, code);
      await rename(tmp, target);
    }
    return target;
  })());
}
