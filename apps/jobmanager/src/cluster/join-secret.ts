/**
 * The cluster's join secret on the JobManager's side: which one it is
 * (`--join-secret`, `--join-secret-file`, else `<data-dir>/join-secret`,
 * created on the first start) and the check every registration passes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { UnauthorizedError } from '@freshet/errors';
import { ensureJoinSecretFile, JOIN_SECRET_FILE, readJoinSecretFile } from '@freshet/settings';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Where the secret came from, for the start-up log. */
export type JoinSecretSource =
  { kind: 'setting' } | { kind: 'file'; path: string } | { kind: 'data-dir'; path: string; created: boolean };

/** The join secret a JobManager admits TaskManagers with. */
export class JoinSecret {
  readonly #digest: Buffer;

  constructor(
    secret: string,
    /** Where it came from. */
    readonly source: JoinSecretSource,
  ) {
    this.#digest = digest(secret);
  }

  /**
   * The secret of `config`: the setting, else the file, else
   * `<dataDir>/join-secret` (created, mode 0600, when missing).
   *
   * @throws ConfigError when a file holds no valid secret
   */
  static resolve(config: {
    joinSecret?: string | undefined;
    joinSecretFile?: string | undefined;
    dataDir: string;
  }): JoinSecret {
    if (config.joinSecret !== undefined) return new JoinSecret(config.joinSecret, { kind: 'setting' });
    if (config.joinSecretFile !== undefined) {
      return new JoinSecret(readJoinSecretFile(config.joinSecretFile), {
        kind: 'file',
        path: config.joinSecretFile,
      });
    }
    const path = join(config.dataDir, JOIN_SECRET_FILE);
    const { secret, created } = ensureJoinSecretFile(path);
    return new JoinSecret(secret, { kind: 'data-dir', path, created });
  }

  /** One line for the start-up log (never the secret). */
  describe(): string {
    const s = this.source;
    if (s.kind === 'setting') return 'Join secret: from --join-secret / FRESHET_JOIN_SECRET';
    if (s.kind === 'file') return `Join secret: ${s.path}`;
    return s.created ? `Created the cluster join secret in ${s.path} (mode 0600)` : `Join secret: ${s.path}`;
  }

  /**
   * Admits a registration presenting `given`.
   *
   * @throws UnauthorizedError when `given` is missing or wrong
   */
  check(given: string | undefined): void {
    // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
    if (given === undefined || !timingSafeEqual(this.#digest, digest(given.trim()))) {
      throw new UnauthorizedError(
        given === undefined
          ? 'Registration needs the cluster join secret: start the TaskManager with --join-secret-file <the JobManager data dir>/join-secret (or FRESHET_JOIN_SECRET)'
          : "Wrong cluster join secret: give the TaskManager the JobManager's (--join-secret-file <data-dir>/join-secret)",
      );
    }
  }
}
