/**
 * One-time login codes for the dashboard, so a login link never carries a
 * long-lived token: `npm start` (or any token holder) asks for a code, prints
 * `<dashboard>/login?code=…`, and the dashboard's server redeems the code
 * once for a session token of the same role, which it keeps in an httpOnly
 * cookie. Codes live only in this JobManager's memory, for a few minutes.
 */
import { randomBytes } from 'node:crypto';
import { hashToken, type Principal } from './tokens.js';
import type { Role } from './roles.js';

/** How long a login code can be redeemed. */
export const LOGIN_CODE_TTL_MS = 15 * 60_000;
/** Codes outstanding at once; the oldest is dropped beyond this. */
const MAX_CODES = 100;

/** What a redeemed code stands for. */
export interface LoginGrant {
  role: Role;
  /** Name of the token that asked for the code. */
  grantedBy: string;
}

/** Outstanding one-time login codes. */
export class LoginCodes {
  /** code hash -> grant and expiry, oldest first (Map keeps insertion order). */
  readonly #codes = new Map<string, LoginGrant & { expiresAt: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new code for a session of the caller's role. */
  create(principal: Principal): { code: string; expiresAt: string } {
    this.#sweep();
    while (this.#codes.size >= MAX_CODES) this.#codes.delete(this.#codes.keys().next().value!);
    const code = `flc_${randomBytes(32).toString('base64url')}`;
    const expiresAt = this.#now() + LOGIN_CODE_TTL_MS;
    this.#codes.set(hashToken(code), { role: principal.role, grantedBy: principal.name, expiresAt });
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The grant of a code, which is used up; undefined for an unknown, used or expired one. */
  redeem(code: string): LoginGrant | undefined {
    this.#sweep();
    const hash = hashToken(code);
    const entry = this.#codes.get(hash);
    this.#codes.delete(hash);
    if (entry === undefined) return undefined;
    return { role: entry.role, grantedBy: entry.grantedBy };
  }

  #sweep(): void {
    const now = this.#now();
    for (const [hash, entry] of this.#codes) if (entry.expiresAt <= now) this.#codes.delete(hash);
  }
}
