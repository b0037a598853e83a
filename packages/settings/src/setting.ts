/**
 * Declaring a setting, once: its flag, environment variable, type (a zod
 * schema over the text the user typed), default and description. The
 * parser, the `--help` text and the README's tables are generated from the
 * declaration, so they cannot disagree.
 *
 * Modelled on Flink's `ConfigOptions`:
 *
 * ```ts
 * key('--slots <n>').env('FRESHET_TASKMANAGER_SLOTS').intType(1, 1024).defaultValue(1).withDescription('task slots offered')
 * ```
 */
import { resolve } from 'node:path';
import { z } from 'zod';

/** What a setting's value may depend on besides the text: where relative paths start. */
export interface SettingContext {
  /** Directory relative paths resolve against. */
  readonly cwd: string;
}

/**
 * How a setting's text becomes its value. `schema` validates and converts
 * the text (its messages complete "`--flag` …", e.g. `must be an integer
 * 0-65535`); `finish` adjusts a value, parsed or default, to the context.
 */
export interface SettingType<T> {
  /** Placeholder in `--help` when the key names none, e.g. `<n>`. */
  readonly placeholder: string;
  readonly schema: z.ZodType<T, string>;
  /** The allowed values, for types that have a fixed set (shown in help and docs). */
  readonly choices?: readonly string[];
  finish?(value: T, context: SettingContext): T;
}

/** A declared setting, as the parser and the generators read it. */
export interface Setting<T> {
  /** Command-line flag, e.g. `--port`. */
  readonly flag: `--${string}`;
  /** Placeholder of the flag's value, e.g. `<port>`. */
  readonly placeholder: string;
  /** Environment variable, if the setting can also come from the environment. */
  readonly env: string | undefined;
  readonly type: SettingType<NonNullable<T>>;
  /** The value when neither the flag nor the variable is given. */
  readonly defaultValue: T;
  /** How the default reads in help and docs: the value, or what an absent value means. */
  readonly defaultText: string;
  /** Whether {@link Setting.defaultText} is a value (shown as code) rather than prose. */
  readonly defaultIsValue: boolean;
  /** What the setting does, lower case, no final period. */
  readonly description: string;
}

/** Any declared setting. */
export type AnySetting = Setting<unknown>;

/** The value type of a setting. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/**
 * A setting with its value type, waiting for its default
 * ({@link TypedSettingBuilder.defaultValue} or
 * {@link TypedSettingBuilder.noDefaultValue}).
 */
export class TypedSettingBuilder<T> {
  readonly #flag: `--${string}`;
  readonly #placeholder: string | undefined;
  readonly #env: string | undefined;
  readonly #type: SettingType<T>;

  /** @internal use {@link key} */
  constructor(
    flag: `--${string}`,
    placeholder: string | undefined,
    env: string | undefined,
    type: SettingType<T>,
  ) {
    this.#flag = flag;
    this.#placeholder = placeholder;
    this.#env = env;
    this.#type = type;
  }

  /**
   * The value when the setting is not given.
   *
   * @param shown - how the default reads in help and docs @default String(value)
   */
  defaultValue(value: T, shown: string = String(value)): DescribedSettingBuilder<T> {
    return new DescribedSettingBuilder(this.#build(value, shown, true));
  }

  /**
   * No default: the value is `undefined` when not given.
   *
   * @param absentMeans - what happens then, for help and docs, e.g. `random per process`
   */
  noDefaultValue(absentMeans: string): DescribedSettingBuilder<T | undefined> {
    return new DescribedSettingBuilder<T | undefined>(this.#build(undefined, absentMeans, false));
  }

  #build<V>(defaultValue: V, defaultText: string, defaultIsValue: boolean): Omit<Setting<V>, 'description'> {
    return {
      flag: this.#flag,
      placeholder: this.#placeholder ?? this.#type.placeholder,
      env: this.#env,
      type: this.#type as unknown as SettingType<NonNullable<V>>,
      defaultValue,
      defaultText,
      defaultIsValue,
    };
  }
}

/** A setting with its default, waiting for its description. */
export class DescribedSettingBuilder<T> {
  readonly #partial: Omit<Setting<T>, 'description'>;

  /** @internal use {@link key} */
  constructor(partial: Omit<Setting<T>, 'description'>) {
    this.#partial = partial;
  }

  /**
   * What the setting does, as `--help` and the README show it: lower case,
   * no final period, e.g. `port to listen on, 0 picks a free one`.
   */
  withDescription(description: string): Setting<T> {
    return Object.freeze({ ...this.#partial, description });
  }
}

/** A setting's flag (and environment variable), waiting for its type. */
export class SettingKeyBuilder {
  readonly #flag: `--${string}`;
  readonly #placeholder: string | undefined;
  readonly #env: string | undefined;

  /** @internal use {@link key} */
  constructor(flag: `--${string}`, placeholder: string | undefined, env: string | undefined) {
    this.#flag = flag;
    this.#placeholder = placeholder;
    this.#env = env;
  }

  /** The environment variable the setting is read from when its flag is not given. */
  env(name: string): SettingKeyBuilder {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name))
      throw new TypeError(`Environment variable ${name} must be UPPER_SNAKE_CASE`);
    return new SettingKeyBuilder(this.#flag, this.#placeholder, name);
  }

  /** A whole number from `min` to `max` inclusive. */
  intType(min: number, max: number): TypedSettingBuilder<number> {
    return this.type({
      placeholder: '<n>',
      schema: z
        .string()
        .trim()
        .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max, {
          message: `must be an integer ${min}-${max}`,
        })
        .transform(Number),
    });
  }

  /** Non-empty text, trimmed. */
  stringType(): TypedSettingBuilder<string> {
    return this.type({ placeholder: '<text>', schema: z.string().trim().min(1, 'must not be empty') });
  }

  /** A file system path; a relative one resolves against the working directory. */
  pathType(): TypedSettingBuilder<string> {
    return this.type({
      placeholder: '<dir>',
      schema: z.string().trim().min(1, 'must not be empty'),
      finish: (path, { cwd }) => resolve(cwd, path),
    });
  }

  /** One of a fixed set of words, as typed (case matters). */
  enumType<const V extends readonly [string, ...string[]]>(values: V): TypedSettingBuilder<V[number]> {
    return this.type({
      placeholder: '<value>',
      schema: z.enum(values, { error: `must be one of ${values.join(', ')}` }),
      choices: values,
    });
  }

  /**
   * Any other type: a zod schema over the text as typed. Its messages
   * complete "`--flag` …", e.g. `must be an http:// or https:// URL`.
   */
  type<T>(type: SettingType<T>): TypedSettingBuilder<T> {
    return new TypedSettingBuilder(this.#flag, this.#placeholder, this.#env, type);
  }
}

/**
 * Starts declaring a setting by its flag, optionally with the placeholder
 * of its value as `--help` shows it: `key('--port <port>')`.
 */
export function key(flag: string): SettingKeyBuilder {
  const match = /^(--[a-z][a-z0-9-]*)(?: (<[a-z-]+>))?$/.exec(flag);
  if (match === null)
    throw new TypeError(`Setting key ${JSON.stringify(flag)} must look like '--name' or '--name <value>'`);
  return new SettingKeyBuilder(match[1] as `--${string}`, match[2], undefined);
}
