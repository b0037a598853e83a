/**
 * A tiny `--name value` parser shared by the example programs (bundled into
 * each one; programs import only `@freshet/api`).
 */

/** Parses `--name value` and `--flag` pairs into a map. */
export function parseArgs(args: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      map.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      map.set(a.slice(2), next);
      i++;
    } else map.set(a.slice(2), 'true');
  }
  return map;
}

/** A required argument, with a message saying what to pass. */
export function required(map: Map<string, string>, name: string, what: string): string {
  const v = map.get(name);
  if (v === undefined) throw new Error(`Missing --${name} (${what})`);
  return v;
}
