import { parseArgs } from 'node:util';
import type { z } from 'zod';

/** Where one configuration setting can come from. */
export interface SettingSource {
  /** Command-line flag without a value, e.g. `--port`. */
  readonly flag: string;
  /** Environment variable name, if the setting can also come from the environment. */
  readonly env?: string;
}

/**
 * A configuration value that did not validate. Its message names the setting as
 * the user wrote it (flag or environment variable) and the value it got.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses a process's configuration once: each field of `schema` is taken from
 * its flag if given, else from its environment variable, else left to the
 * schema's default. Flags win over the environment.
 *
 * @param schema - object schema whose keys are the keys of `sources`; values arrive as strings
 * @param sources - flag and environment variable per setting
 * @param flags - parsed flags by key (strings as typed on the command line)
 * @param env - the environment, usually `process.env`
 * @throws {@link ConfigError} naming every bad setting, e.g. `Invalid configuration: --port must be an integer 0-65535 (got "abc")`
 */
export function parseSettings<S extends z.ZodObject>(
  schema: S,
  sources: { readonly [K in keyof z.input<S>]-?: SettingSource },
  flags: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): z.output<S> {
  const raw: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [key, source] of Object.entries<SettingSource>(sources)) {
    const fromFlag = flags[key];
    const fromEnv = source.env === undefined ? undefined : env[source.env];
    if (fromFlag !== undefined) {
      raw[key] = fromFlag;
      origin[key] = source.flag;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw[key] = fromEnv;
      origin[key] = source.env!;
    }
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const name = origin[key] ?? (sources as Record<string, SettingSource | undefined>)[key]?.flag ?? key;
    const got = raw[key];
    return `${name} ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
}

/**
 * Reads a process's command line: each setting's flag takes a value, `-h` or
 * `--help` asks for help, and anything else (an unknown flag, a positional
 * argument, a flag without its value) is a {@link ConfigError}.
 *
 * @param sources - flag and environment variable per setting
 * @param argv - command-line arguments after the program name
 * @returns the flags' values by setting key (for {@link parseSettings}) and whether help was asked for
 */
export function parseSettingFlags(
  sources: Readonly<Record<string, SettingSource>>,
  argv: readonly string[],
): { help: boolean; flags: Record<string, string> } {
  const options = Object.fromEntries(
    Object.values(sources).map((s) => [s.flag.slice(2), { type: 'string' as const }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message} (see --help)`);
  }
  const flags: Record<string, string> = {};
  for (const [key, source] of Object.entries(sources)) {
    const value = values[source.flag.slice(2)];
    if (typeof value === 'string') flags[key] = value;
  }
  return { help: values.help === true, flags };
}
