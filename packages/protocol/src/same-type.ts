/**
 * Compile-time checks that a zod schema infers exactly the type declared
 * elsewhere (`@freshet/graph`), so the two cannot drift.
 */

/**
 * `true` when `A` and `B` are the same type: each assignable to the other and
 * with the same keys (so an optional field on one side only makes them differ).
 * Shallow: nested object types are compared by their own assertions.
 */
export type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;

/** Compiles only when its argument is `true`. */
export type Assert<T extends true> = T;
