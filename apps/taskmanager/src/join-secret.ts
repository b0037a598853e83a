/**
 * The cluster join secret this TaskManager registers with: `--join-secret`,
 * else the file of `--join-secret-file`, else `./.freshet/join-secret` when
 * it exists (where a JobManager started with its defaults in the same
 * directory keeps it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JOIN_SECRET_FILE, readJoinSecretFile, type TaskManagerConfig } from '@freshet/settings';

/**
 * The join secret of `config`, or undefined when none is configured (the
 * JobManager then refuses the registration, saying how to give one).
 *
 * @throws ConfigError when the file cannot be read or holds no valid secret
 */
export function resolveJoinSecret(
  config: Pick<TaskManagerConfig, 'joinSecret' | 'joinSecretFile'>,
  cwd: string = process.cwd(),
): string | undefined {
  if (config.joinSecret !== undefined) return config.joinSecret;
  if (config.joinSecretFile !== undefined) return readJoinSecretFile(config.joinSecretFile);
  const local = join(cwd, '.freshet', JOIN_SECRET_FILE);
  return existsSync(local) ? readJoinSecretFile(local) : undefined;
}
