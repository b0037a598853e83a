/**
 * A process's settings as a whole, and reading them once: flags win over
 * environment variables, which win over defaults.
 */
import { parseArgs } from 'node:util';
import { defineErrorClass, InvalidInputError } from '@freshet/errors';
import type { AnySetting, SettingType, SettingValue } from './setting.js';

/**
 * A configuration value that did not validate, or a command line that does
 * not parse. Its message names the setting as the user wrote it (flag or
 * environment variable) and the value it got, e.g. `Invalid configuration:
 * --port must be an integer 0-65535 (got "abc")`.
 */
export class ConfigError extends InvalidInputError {
  static {
    defineErrorClass(this, 'ConfigError', 'INVALID_INPUT');
  }
}

/** Settings by the key the configuration object uses for them. */
export type SettingGroup = Readonly<Record<string, AnySetting>>;

/** Every setting of one process, with what its `--help` says about the process. */
export interface ProcessSettings<S extends SettingGroup = SettingGroup> {
  /** The command that starts the process, e.g. `freshet-jobmanager`. */
  readonly command: string;
  /** What the process does: the paragraph `--help` prints above the options. */
  readonly summary: string;
  readonly settings: S;
}

/** The configuration object a process's settings produce. */
export type ConfigOf<P extends ProcessSettings> = {
  -readonly [K in keyof P['settings']]: SettingValue<P['settings'][K]>;
};

/**
 * Declares a process's settings. Checks that no two settings share a flag
 * or an environment variable and that every one is described.
 */
export function defineSettings<const S extends SettingGroup>(
  declaration: ProcessSettings<S>,
): ProcessSettings<S> {
  const flags = new Set<string>(['--help']);
  const envs = new Set<string>();
  for (const [name, setting] of Object.entries(declaration.settings)) {
    if (flags.has(setting.flag)) throw new TypeError(`Setting ${name}: flag ${setting.flag} is taken`);
    flags.add(setting.flag);
    if (setting.env !== undefined) {
      if (envs.has(setting.env))
        throw new TypeError(`Setting ${name}: environment variable ${setting.env} is taken`);
      envs.add(setting.env);
    }
    if (setting.description.trim() === '') throw new TypeError(`Setting ${name} has no description`);
  }
  return Object.freeze({ ...declaration, settings: Object.freeze({ ...declaration.settings }) });
}

/** Where {@link readSettings} reads from. */
export interface SettingSources {
  /** Command-line arguments after the program name. */
  readonly argv: readonly string[];
  /** The environment, usually `process.env`. An empty variable counts as unset. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths resolve against, usually `process.cwd()`. */
  readonly cwd: string;
}

/** What a command line asked for: help, or a run with this configuration. */
export type Invocation<C> = { help: true } | { help: false; config: C };

/**
 * Reads a process's configuration once. Each setting comes from its flag if
 * given, else from its environment variable (if set and not empty), else
 * from its default. `-h` / `--help` asks for help instead.
 *
 * @throws {@link ConfigError} for an unknown flag, a positional argument or
 *   a flag without its value, and naming every bad setting, e.g.
 *   `Invalid configuration: --port must be an integer 0-65535 (got "abc")`
 */
export function readSettings<P extends ProcessSettings>(
  declared: P,
  sources: SettingSources,
): Invocation<ConfigOf<P>> {
  const entries = Object.entries(declared.settings);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...sources.argv],
      options: {
        ...Object.fromEntries(entries.map(([, s]) => [s.flag.slice(2), { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message} (see --help)`);
  }
  if (values.help === true) return { help: true };

  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of entries) {
    const fromFlag = values[setting.flag.slice(2)];
    const fromEnv = setting.env === undefined ? undefined : sources.env[setting.env];
    let raw: string | undefined;
    let origin = setting.flag as string;
    if (typeof fromFlag === 'string') {
      raw = fromFlag;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      origin = setting.env!;
    }
    if (raw === undefined) {
      config[name] =
        setting.defaultValue === undefined ? undefined : finish(setting, setting.defaultValue, sources);
      continue;
    }
    const result = setting.type.schema.safeParse(raw);
    if (result.success) {
      config[name] = finish(setting, result.data, sources);
    } else {
      for (const issue of result.error.issues)
        problems.push(`${origin} ${issue.message} (got ${JSON.stringify(raw)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return { help: false, config: config as ConfigOf<P> };
}

function finish(setting: AnySetting, value: unknown, sources: SettingSources): unknown {
  // The value came from this setting's own schema or default, so it has the setting's type.
  const type = setting.type as SettingType<unknown>;
  return type.finish ? type.finish(value, { cwd: sources.cwd }) : value;
}
