/**
 * The cluster's join secret: what a TaskManager presents to register with
 * a JobManager. It comes from a setting (`--join-secret`,
 * `FRESHET_JOIN_SECRET`) or a file (`--join-secret-file`); a JobManager
 * given neither keeps one in `<data-dir>/join-secret` (mode 0600), created
 * on its first start, which `npm start`, `freshet cluster start` and the
 * test launchers hand to the TaskManagers they start.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { SettingType } from './setting.js';
import { ConfigError } from './settings.js';

/** File name of the join secret inside the JobManager's data directory. */
export const JOIN_SECRET_FILE = 'join-secret';

/** Shortest join secret accepted (a generated one has 43 characters: 256 bits). */
export const JOIN_SECRET_MIN_LENGTH = 16;

const secretSchema = z
  .string()
  .trim()
  .min(JOIN_SECRET_MIN_LENGTH, `must be at least ${JOIN_SECRET_MIN_LENGTH} characters`)
  .max(1024, 'must be at most 1024 characters');

/** The setting type of a join secret given as text. */
export const JOIN_SECRET_TYPE: SettingType<string> = { placeholder: '<secret>', schema: secretSchema };

/** A fresh join secret: 256 random bits, base64url. */
export function generateJoinSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Reads the join secret in `path` (surrounding whitespace dropped).
 *
 * @throws ConfigError when the file cannot be read or holds no valid secret
 */
export function readJoinSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read the join secret file ${path}: ${(err as Error).message}`);
  }
  const parsed = secretSchema.safeParse(text);
  if (!parsed.success) {
    throw new ConfigError(`The join secret in ${path} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

/**
 * The join secret in `path`, created there (mode 0600, written atomically)
 * when the file does not exist yet.
 *
 * @returns the secret, and whether this call created it
 * @throws ConfigError when the file exists but holds no valid secret
 */
export function ensureJoinSecretFile(path: string): { secret: string; created: boolean } {
  if (existsSync(path)) {
    const secret = readJoinSecretFile(path);
    chmodSync(path, 0o600);
    return { secret, created: false };
  }
  const secret = generateJoinSecret();
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return { secret, created: true };
}
