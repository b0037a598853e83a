/**
 * The base of every Freshet error and the brand that makes `instanceof` work
 * across realms (worker threads, `vm` contexts, two copies of a package).
 *
 * `x instanceof C` normally compares prototype objects, so an error made by
 * another copy of a class (another realm, a second install of the package)
 * is not an instance of "the same" class here. Each Freshet error class is
 * therefore branded with a `Symbol.for` key, which every realm of a process
 * shares, and answers `instanceof` by that brand (Temporal's
 * `SymbolBasedInstanceOfError` does the same). What crosses a thread or
 * process boundary as data is rebuilt by `errorFromJSON` (see `json.ts`).
 *
 * This file imports nothing, so a test can load a second copy of it into a
 * fresh `vm` realm.
 */

/**
 * What kind of failure an error is, independent of its class. Codes are
 * stable: they are data on the wire (worker messages, reports to the
 * JobManager) and the router edge maps them to transport codes.
 */
export const ERROR_CODES = [
  /** The caller's input or configuration is malformed (a flag, an upload, a request field). */
  'INVALID_INPUT',
  /** The user's program cannot be compiled, planned or deployed as written. */
  'INVALID_PROGRAM',
  /** A user function threw while a job ran. */
  'USER_FUNCTION_FAILED',
  /** What the caller named does not exist (any more). */
  'NOT_FOUND',
  /** The target's current state forbids the operation (cancelling a job that ended). */
  'CONFLICT',
  /** A payload is over a configured limit. */
  'PAYLOAD_TOO_LARGE',
  /** The caller did not prove who it is (missing, wrong or expired credentials). */
  'UNAUTHORIZED',
  /** The caller is known, but its role does not allow the operation. */
  'FORBIDDEN',
  /** A queue or limit is full for now; the caller may try again after a while. */
  'TOO_MANY_REQUESTS',
  /** A service, peer or resource could not be reached; trying again later may work. */
  'UNAVAILABLE',
  /** The operation was cancelled from outside. */
  'CANCELLED',
  /** A peer sent bytes or messages that break the wire protocol. */
  'PROTOCOL_VIOLATION',
  /** The system is not in a state that allows the operation (e.g. the database's migration history). */
  'FAILED_PRECONDITION',
  /** A Freshet bug or an unexpected failure: never shown to a client in detail. */
  'INTERNAL',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether `value` is one of {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Options every Freshet error takes. */
export interface FreshetErrorOptions<D> {
  /** The error this one wraps (kept, with its stack, as `cause`). */
  cause?: unknown;
  /** Structured facts about the failure; plain JSON data, so it survives serialization. */
  details?: D;
  /** Overrides the class's code, for the few classes whose instances differ in kind. */
  code?: ErrorCode;
}

/** A Freshet error class, as {@link defineErrorClass} takes it. */
export interface ErrorClass {
  readonly prototype: Error;
}

/** Prototype key of a class's default code. */
const DEFAULT_CODE = Symbol.for('freshet.error.defaultCode');
/** globalThis key of the name → class registry, shared by every copy of this package in a realm. */
const REGISTRY = Symbol.for('freshet.error.registry');

/** The brand of the class named `name`. */
const brandOf = (name: string): symbol => Symbol.for(`freshet.error:${name}`);

/**
 * Classes by their stable name, for rebuilding errors that arrive as data.
 * Shared through `globalThis` so two copies of this package in one realm
 * agree.
 */
export function errorClasses(): Map<string, ErrorClass> {
  const g = globalThis as unknown as Record<symbol, Map<string, ErrorClass> | undefined>;
  return (g[REGISTRY] ??= new Map<string, ErrorClass>());
}

/**
 * Brands an error class: gives its prototype the stable `name` and default
 * `code`, makes `instanceof` check the brand (so instances from other
 * realms and other copies of the class count), and registers the class
 * under `name` for {@link errorFromJSON}. Call it once per class, from a
 * `static` block: `static { defineErrorClass(this, 'NotFoundError', 'NOT_FOUND'); }`.
 *
 * Subclasses inherit their parents' brands: an instance of a subclass is an
 * instance of every branded ancestor, in any realm.
 *
 * @param name - the class's stable name, unique among Freshet errors
 * @param code - the code its instances carry unless told otherwise
 */
export function defineErrorClass(cls: ErrorClass, name: string, code: ErrorCode): void {
  const brand = brandOf(name);
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls.prototype, brand, { value: true });
  Object.defineProperty(cls.prototype, DEFAULT_CODE, { value: code, configurable: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this === cls) {
        return (
          typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
        );
      }
      // An unbranded subclass inherited this method: fall back to the prototype chain (one realm only).
      return typeof this === 'function' && Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
  errorClasses().set(name, cls);
}

/**
 * The base of every Freshet error: a stable `name` (the class's), a stable
 * {@link ErrorCode}, optional structured `details` and a `cause`.
 * `instanceof` works across realms; {@link FreshetError.toJSON} and
 * `errorFromJSON` carry it across `postMessage` and process boundaries.
 *
 * @typeParam D - shape of {@link FreshetError.details}
 */
export class FreshetError<D extends object | undefined = undefined> extends Error {
  static {
    defineErrorClass(this, 'FreshetError', 'INTERNAL');
  }

  /** What kind of failure this is. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (plain JSON data), when the class has any. */
  readonly details: D;

  /**
   * @param message - what went wrong and, where the reader can act, what to do
   * @param options - cause, details (required by classes that have them) and a code override
   */
  constructor(message: string, options: FreshetErrorOptions<D> = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code =
      options.code ?? (this as unknown as Record<symbol, ErrorCode | undefined>)[DEFAULT_CODE] ?? 'INTERNAL';
    this.details = options.details as D;
  }

  /**
   * Plain data for `JSON.stringify`, `postMessage` and loggers: name, code,
   * message, stack, details and cause (serialized too). `errorFromJSON`
   * rebuilds the error from it.
   */
  toJSON(): ErrorJSON {
    return errorToJSON(this);
  }
}

/** An error as plain data: what {@link errorToJSON} writes and `errorFromJSON` reads. */
export interface ErrorJSON {
  /** The class's stable name, e.g. `NotFoundError`, `TypeError`. */
  name: string;
  message: string;
  /** The {@link ErrorCode}; absent for errors that are not Freshet errors. */
  code?: ErrorCode;
  stack?: string;
  /** {@link FreshetError.details}, when there are any. */
  details?: object;
  /** The wrapped error, serialized the same way. */
  cause?: ErrorJSON;
}

/** Causes deeper than this are cut off when serializing (a cycle must not loop forever). */
const MAX_CAUSE_DEPTH = 8;

/**
 * Serializes any thrown value as plain data. Freshet errors keep their code
 * and details; other errors their name, message and stack; anything else
 * becomes an `Error` whose message is the value as text.
 */
export function errorToJSON(error: unknown, depth = 0): ErrorJSON {
  if (typeof error !== 'object' || error === null) {
    return { name: 'Error', message: String(error) };
  }
  const e = error as {
    name?: unknown;
    message?: unknown;
    stack?: unknown;
    code?: unknown;
    details?: unknown;
    cause?: unknown;
  };
  const out: ErrorJSON = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : describeValue(error),
  };
  if (error instanceof FreshetError) {
    out.code = error.code;
    if (e.details !== undefined) out.details = e.details as object;
  }
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = errorToJSON(e.cause, depth + 1);
  return out;
}

/** Text for a thrown object that is not an error: its JSON when it has one. */
function describeValue(value: object): string {
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
