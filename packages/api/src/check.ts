/**
 * Argument checks shared by the API's methods. Each throws a
 * {@link ProgramDefinitionError} that names the method, what it expects and
 * what it got, so a user reads what to fix.
 */
import { ProgramDefinitionError } from './errors.js';

/** Renders a received value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'symbol') return value.toString();
  return `${value as number | boolean | bigint | undefined}`;
}

/** Throws unless `value` is an integer >= 1. */
export function checkPositiveInt(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ProgramDefinitionError(`${what} expects a positive integer (got ${describeValue(value)})`);
  }
  return value;
}

/** Throws unless `value` is an integer >= 0. */
export function checkNonNegativeInt(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ProgramDefinitionError(`${what} expects a non-negative integer (got ${describeValue(value)})`);
  }
  return value;
}

/** Throws unless `value` is a finite number of milliseconds > 0. */
export function checkPositiveDuration(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ProgramDefinitionError(
      `${what} expects a duration in milliseconds > 0 (got ${describeValue(value)})`,
    );
  }
  return value;
}

/** Throws unless `value` is a finite number (may be negative). */
export function checkFinite(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ProgramDefinitionError(`${what} expects a finite number (got ${describeValue(value)})`);
  }
  return value;
}

/** Throws unless `value` is a non-empty string. */
export function checkNonEmptyString(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ProgramDefinitionError(`${what} expects a non-empty string (got ${describeValue(value)})`);
  }
  return value;
}

/** Throws unless `value` is a function. */
export function checkFunction(what: string, value: unknown, expectation = 'a function'): void {
  if (typeof value !== 'function') {
    throw new ProgramDefinitionError(`${what} expects ${expectation} (got ${describeValue(value)})`);
  }
}

/**
 * Throws unless `value` is a function or an object with the named method
 * (the two forms of a user function, see `functions.ts`).
 */
export function checkUserFunction(what: string, value: unknown, method: string): void {
  if (typeof value === 'function') return;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[method] === 'function'
  )
    return;
  throw new ProgramDefinitionError(
    `${what} expects a function or an object with a '${method}' method (got ${describeValue(value)})`,
  );
}

/** Throws unless `value` is an object with all the named methods. */
export function checkMethods(what: string, value: unknown, methods: readonly string[], kind: string): void {
  if (typeof value !== 'object' || value === null) {
    throw new ProgramDefinitionError(`${what} expects ${kind} object (got ${describeValue(value)})`);
  }
  const missing = methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new ProgramDefinitionError(
      `${what} expects ${kind} object with ${methods.map((m) => `'${m}'`).join(', ')} (missing ${missing.map((m) => `'${m}'`).join(', ')})`,
    );
  }
}

/**
 * Display name of a user object for node names: its own `toString`, else its
 * class name, else `fallback` (e.g. `CountTrigger(5)`, `MyEvictor`, `Trigger`).
 */
export function displayNameOf(value: object, fallback: string): string {
  if (value.toString !== Object.prototype.toString) {
    const name = (value as { toString(): string }).toString();
    if (name) return name;
  }
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== 'Object' ? ctor : fallback;
}
