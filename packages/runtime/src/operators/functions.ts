/**
 * Resolves user functions once, at open: a function may be a plain function
 * or an object with the method (plus optional `open`/`close`). The hot path
 * then calls one plain callable, never re-inspecting the object.
 */
import type { RichFunction } from '@freshet/api';
import { OperatorUsageError } from './errors.js';

/** Any callable, as resolved from a user function. */
export type Callable = (...args: never[]) => unknown;

/**
 * Returns the callable for `method` of a user function: the function itself
 * when `fn` is a function, else `fn[method]` bound to `fn`.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the callable's type
export function resolveCallable<F extends Callable>(fn: unknown, method: string, operatorName: string): F {
  if (typeof fn === 'function') return fn as F;
  if (typeof fn === 'object' && fn !== null) {
    const m = (fn as Record<string, unknown>)[method];
    if (typeof m === 'function') return (m as Callable).bind(fn) as F;
  }
  throw new OperatorUsageError(
    `Operator '${operatorName}': expected a function or an object with a '${method}' method, got ${describeValue(fn)}`,
  );
}

/** Like {@link resolveCallable} for a method that is optional: `undefined` when absent. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the callable's type
export function resolveOptionalMethod<F extends Callable>(fn: unknown, method: string): F | undefined {
  if (typeof fn === 'object' && fn !== null) {
    const m = (fn as Record<string, unknown>)[method];
    if (typeof m === 'function') return (m as Callable).bind(fn) as F;
  }
  return undefined;
}

/** Requires `fn` to be an object with every method in `methods`. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the object's type
export function requireObject<T extends object>(
  fn: unknown,
  methods: readonly string[],
  operatorName: string,
): T {
  if (typeof fn !== 'object' || fn === null) {
    throw new OperatorUsageError(
      `Operator '${operatorName}': expected an object with ${methods.map((m) => `'${m}'`).join(', ')}, got ${describeValue(fn)}`,
    );
  }
  for (const m of methods) {
    if (typeof (fn as Record<string, unknown>)[m] !== 'function') {
      throw new OperatorUsageError(`Operator '${operatorName}': the function object has no '${m}' method`);
    }
  }
  return fn as T;
}

/** The lifecycle hooks of a user function, if it is an object that has them. */
export function richOf(fn: unknown): RichFunction | undefined {
  return typeof fn === 'object' && fn !== null ? fn : undefined;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined (the node has no such function)';
  if (v === null) return 'null';
  return typeof v;
}
