/**
 * Rebuilding errors that crossed a `postMessage` or a process boundary as
 * data ({@link ErrorJSON}, written by `errorToJSON` or `FreshetError.toJSON`).
 */
import { errorClasses, FreshetError, isErrorCode, type ErrorClass, type ErrorJSON } from './freshet-error.js';
import { KIND_CLASSES } from './kinds.js';

/** Built-in error classes, rebuilt as themselves. */
const BUILT_IN: Readonly<Record<string, ErrorClass>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Rebuilds an error from {@link ErrorJSON}: a Freshet error as its own class
 * when that class is loaded here (so `instanceof`, its getters and its
 * `code` work), else as the class of its code's kind, else as a
 * `FreshetError`, keeping the original name; a built-in error as its
 * built-in class; anything else as an `Error` with the original name. The
 * class's constructor does not run: the message, code, details, stack and
 * cause are the sender's.
 */
export function errorFromJSON(json: ErrorJSON): Error {
  const freshet = json.code !== undefined && isErrorCode(json.code);
  const cls: ErrorClass = freshet
    ? (errorClasses().get(json.name) ?? KIND_CLASSES[json.code!] ?? FreshetError)
    : (BUILT_IN[json.name] ?? Error);
  // Error's own constructor with the class as new.target: a native error
  // with the class's prototype, without running the class's constructor
  // (whose parameters the data does not carry).
  const error = Reflect.construct(Error, [json.message], cls as unknown as NewableFunction) as Error;
  const own = (key: string, value: unknown, enumerable: boolean): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable });
  };
  if (error.name !== json.name) own('name', json.name, false);
  if (freshet) {
    own('code', json.code, true);
    own('details', json.details, true);
  }
  if (json.stack !== undefined) own('stack', json.stack, false);
  if (json.cause !== undefined) own('cause', errorFromJSON(json.cause), false);
  return error;
}
