/**
 * API tokens: random bearer tokens (256 bits) with a role, stored only as
 * their sha256 in the `ApiToken` table. A token is hashed once per request
 * and looked up by its hash (unique index); a short cache spares the
 * database on busy dashboards, and revoking through this JobManager drops
 * the token from the cache at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, UnauthorizedError } from '@freshet/errors';
import type { FreshetDatabase } from '@freshet/db';
import type { Logger } from '../logger.js';
import { roleFromDb, roleToDb, type Role } from './roles.js';

/** Prefix of every API token, so a leaked one is easy to recognise (and to scan for). */
export const TOKEN_PREFIX = 'fst_';

/** Who is calling: the token a request carried, resolved. */
export interface Principal {
  /** The token's id (not the token). */
  tokenId: string;
  /** The token's name, e.g. `ci` or `dashboard session`. */
  name: string;
  role: Role;
  /** When the token stops working; null = until revoked. */
  expiresAt: Date | null;
}

/** A token as `tokens.list` shows it: never the token itself, which is not stored. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
}

/** A freshly created token: the only time its secret is seen. */
export interface CreatedToken {
  token: string;
  info: TokenInfo;
}

/** How long a cached lookup is trusted. Revocations through this JobManager apply at once. */
const CACHE_MS = 5_000;
/** Entries kept in the lookup cache; it is cleared when full (random tokens cannot grow it further). */
const CACHE_ENTRIES = 1_000;
/** `lastUsedAt` is written at most this often per token. */
const LAST_USED_EVERY_MS = 60_000;

/** sha256 hex of a token: what the database stores. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: the prefix and 32 random bytes, base64url. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The token of an `Authorization: Bearer <token>` header, if it has one of the right shape. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const token = match?.[1];
  return token !== undefined && token.startsWith(TOKEN_PREFIX) && token.length <= 200 ? token : undefined;
}

type TokenRow = NonNullable<Awaited<ReturnType<FreshetDatabase['prisma']['apiToken']['findUnique']>>>;

function toInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: roleFromDb(row.role),
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

/** Options of {@link TokenService}. */
export interface TokenServiceOptions {
  db: FreshetDatabase;
  logger: Logger;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Creates, lists, revokes and checks API tokens. */
export class TokenService {
  readonly #db: FreshetDatabase;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** token hash -> principal and when it was looked up. */
  readonly #cache = new Map<string, { principal: Principal; at: number }>();
  /** token id -> when `lastUsedAt` was last written. */
  readonly #lastUsedWritten = new Map<string, number>();

  constructor(opts: TokenServiceOptions) {
    this.#db = opts.db;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The principal of an `Authorization` header.
   *
   * @throws UnauthorizedError when the header is missing or names no live token
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization.trim() === '') {
      throw new UnauthorizedError(
        'This call needs an API token: send Authorization: Bearer <token> (the CLI takes --token or FRESHET_TOKEN; the first admin token is in <data-dir>/admin-token)',
      );
    }
    const token = bearerToken(authorization);
    const principal = token === undefined ? undefined : await this.#lookup(hashToken(token));
    if (principal === undefined) {
      throw new UnauthorizedError('The API token is not valid: it is unknown, revoked or expired');
    }
    return principal;
  }

  async #lookup(hash: string): Promise<Principal | undefined> {
    const now = this.#now();
    const cached = this.#cache.get(hash);
    if (cached !== undefined && now - cached.at < CACHE_MS && !expired(cached.principal, now)) {
      this.#touch(cached.principal.tokenId, now);
      return cached.principal;
    }
    this.#cache.delete(hash);
    const row = await this.#db.prisma.apiToken.findUnique({ where: { tokenHash: hash } });
    if (row === null || row.revokedAt !== null) return undefined;
    const principal: Principal = {
      tokenId: row.id,
      name: row.name,
      role: roleFromDb(row.role),
      expiresAt: row.expiresAt,
    };
    if (expired(principal, now)) return undefined;
    if (this.#cache.size >= CACHE_ENTRIES) this.#cache.clear();
    this.#cache.set(hash, { principal, at: now });
    this.#touch(row.id, now, row.lastUsedAt);
    return principal;
  }

  /** Writes `lastUsedAt` now and then; a failure there never fails the call. */
  #touch(tokenId: string, now: number, stored?: Date | null): void {
    const last = this.#lastUsedWritten.get(tokenId) ?? stored?.getTime() ?? 0;
    if (now - last < LAST_USED_EVERY_MS) return;
    this.#lastUsedWritten.set(tokenId, now);
    if (this.#lastUsedWritten.size > CACHE_ENTRIES) this.#lastUsedWritten.clear();
    this.#db.prisma.apiToken
      .update({ where: { id: tokenId }, data: { lastUsedAt: new Date(now) } })
      .catch((err: unknown) => {
        this.#logger.warn({ err, tokenId }, 'Could not record when a token was last used');
      });
  }

  /** Creates a token; its secret is returned once and never stored. */
  async create(name: string, role: Role, expiresAt: Date | null = null): Promise<CreatedToken> {
    const token = generateToken();
    const row = await this.#db.prisma.apiToken.create({
      data: { name, role: roleToDb(role), tokenHash: hashToken(token), expiresAt },
    });
    this.#logger.info({ tokenId: row.id, name, role }, 'API token created');
    return { token, info: toInfo(row) };
  }

  /** Every token, newest first; revoked and expired ones only with `all`. */
  async list(all = false): Promise<TokenInfo[]> {
    const now = new Date(this.#now());
    const rows = await this.#db.prisma.apiToken.findMany({
      where: all ? {} : { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
    return rows.map(toInfo);
  }

  /**
   * Revokes a token by id: it stops working at once on this JobManager.
   *
   * @throws NotFoundError for an unknown id
   */
  async revoke(id: string): Promise<TokenInfo> {
    const row = await this.#db.prisma.apiToken.findUnique({ where: { id } });
    if (row === null)
      throw new NotFoundError(`No token with id ${JSON.stringify(id)}; list them with tokens.list`);
    const updated =
      row.revokedAt !== null
        ? row
        : await this.#db.prisma.apiToken.update({
            where: { id },
            data: { revokedAt: new Date(this.#now()) },
          });
    this.#forget(id);
    if (row.revokedAt === null) this.#logger.info({ tokenId: id, name: row.name }, 'API token revoked');
    return toInfo(updated);
  }

  /** Whether a token hash belongs to a live token of `role`. */
  async isLive(token: string, role: Role): Promise<boolean> {
    const principal = await this.#lookup(hashToken(token));
    return principal?.role === role;
  }

  /** Whether any live token of `role` exists. */
  async anyLive(role: Role): Promise<boolean> {
    const now = new Date(this.#now());
    const count = await this.#db.prisma.apiToken.count({
      where: { role: roleToDb(role), revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    });
    return count > 0;
  }

  /** Deletes tokens that expired more than a day ago (old dashboard sessions). */
  async pruneExpired(): Promise<number> {
    const { count } = await this.#db.prisma.apiToken.deleteMany({
      where: { expiresAt: { lt: new Date(this.#now() - 86_400_000) } },
    });
    return count;
  }

  #forget(tokenId: string): void {
    for (const [hash, entry] of this.#cache)
      if (entry.principal.tokenId === tokenId) this.#cache.delete(hash);
  }
}

function expired(principal: Principal, now: number): boolean {
  return principal.expiresAt !== null && principal.expiresAt.getTime() <= now;
}
