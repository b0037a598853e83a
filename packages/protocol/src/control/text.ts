import { z } from 'zod';

/**
 * Postgres stores no NUL character in `text` or `jsonb`: a string with one
 * that reaches the database fails there (error 22021) instead of being
 * refused as bad input.
 */
const NO_NUL = /^[^\0]*$/;

/**
 * A string that may reach the database (ids, names, arguments): one with a
 * NUL character is invalid input (400), never a database error. Chain
 * `.min()` / `.max()` as on `z.string()`.
 */
export const StoredTextSchema = z.string().regex(NO_NUL, 'must not contain NUL characters');

/**
 * Text relayed from user code that the JobManager stores (an exception's
 * name, message or stack): NUL characters become U+FFFD, so the report that
 * carries it is kept rather than refused.
 */
export const RelayedTextSchema = z.string().transform((s) => s.replaceAll('\0', '\uFFFD'));
