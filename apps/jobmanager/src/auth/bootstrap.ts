/**
 * The first admin token. On its first start a JobManager creates an admin
 * token and writes it to `<data-dir>/admin-token` (mode 0600), so whoever
 * can read the JobManager's data directory — the person who started it —
 * can administer it, and nobody else; `npm start`, `freshet cluster start`
 * and the test tooling read it from there.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { TokenService } from './tokens.js';

/** File name of the admin token inside the data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * Makes sure an admin can get in: keeps `<dataDir>/admin-token` when it
 * holds a live admin token; creates one there when no live admin token
 * exists at all. When other admin tokens exist (a database shared with
 * another data directory, or the file's token was revoked on purpose),
 * nothing is created.
 *
 * @returns the file's path when it holds a live admin token
 */
export async function ensureAdminToken(
  tokens: TokenService,
  dataDir: string,
  logger: Logger,
): Promise<string | undefined> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readFile(path, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
  if (existing !== undefined && (await tokens.isLive(existing, 'admin'))) {
    await chmod(path, 0o600);
    logger.info({ path }, `Admin token: ${path}`);
    return path;
  }
  if (await tokens.anyLive('admin')) {
    logger.warn(
      { path },
      `${path} holds no live admin token, and other admin tokens exist: none is created. Use one of those (freshet token create --role admin)`,
    );
    return undefined;
  }
  const { token } = await tokens.create('admin (first start)', 'admin');
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
  logger.info({ path }, `Created the first admin token in ${path} (mode 0600)`);
  return path;
}
