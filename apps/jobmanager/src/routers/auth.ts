import { z } from 'zod';
import { UnauthorizedError } from '@freshet/errors';
import { StoredTextSchema } from '@freshet/protocol';
import type { Role } from '../auth/roles.js';
import { publicProcedure, router, viewerProcedure } from '../trpc.js';

/** How long a dashboard session lasts. */
export const SESSION_TTL_MS = 7 * 24 * 3_600_000;

/** `auth.whoami`: the calling token. */
export interface WhoAmI {
  tokenId: string;
  name: string;
  role: Role;
  /** When the token stops working; null = until revoked. */
  expiresAt: string | null;
}

/** A dashboard session token, from `auth.createSession` or `auth.redeemLoginCode`. */
export interface Session {
  token: string;
  role: Role;
  name: string;
  expiresAt: string;
}

/** `auth.*`: who is calling, and dashboard sessions. */
export const authRouter = router({
  /** The calling token's name and role (any role). */
  whoami: viewerProcedure.query(({ ctx }): WhoAmI => ({
    tokenId: ctx.principal.tokenId,
    name: ctx.principal.name,
    role: ctx.principal.role,
    expiresAt: ctx.principal.expiresAt?.toISOString() ?? null,
  })),

  /**
   * A one-time login code (valid 15 minutes) for a dashboard session of the
   * caller's role: `<dashboard>/login?code=…` is a login link that carries no
   * token.
   */
  createLoginCode: viewerProcedure.mutation(({ ctx }) => ctx.loginCodes.create(ctx.principal)),

  /**
   * Redeems a one-time login code for a session token (7 days). The code is
   * the credential, so no token is needed; UNAUTHORIZED for an unknown, used
   * or expired code.
   */
  redeemLoginCode: publicProcedure
    .input(z.object({ code: StoredTextSchema.min(1).max(200) }))
    .mutation(async ({ ctx, input }): Promise<Session> => {
      const grant = ctx.loginCodes.redeem(input.code);
      if (grant === undefined) {
        throw new UnauthorizedError(
          'This login link is not valid: it was used already, expired (links last 15 minutes) or comes from a JobManager that restarted. Sign in with a token, or print a new link with `freshet login-link`',
        );
      }
      const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
      const created = await ctx.tokens.create(
        `dashboard session (from ${grant.grantedBy})`,
        grant.role,
        expiresAt,
      );
      return {
        token: created.token,
        role: grant.role,
        name: created.info.name,
        expiresAt: expiresAt.toISOString(),
      };
    }),

  /** Trades the calling token for a dashboard session token of the same role (7 days). */
  createSession: viewerProcedure.mutation(async ({ ctx }): Promise<Session> => {
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    const base = ctx.principal.name.replace(/^dashboard session \(from (.*)\)$/, '$1');
    const created = await ctx.tokens.create(
      `dashboard session (from ${base})`,
      ctx.principal.role,
      expiresAt,
    );
    return {
      token: created.token,
      role: ctx.principal.role,
      name: created.info.name,
      expiresAt: expiresAt.toISOString(),
    };
  }),

  /** Ends a dashboard session: revokes the calling token if it is a session token (tokens without expiry stay). */
  signOut: viewerProcedure.mutation(async ({ ctx }): Promise<{ revoked: boolean }> => {
    if (ctx.principal.expiresAt === null) return { revoked: false };
    await ctx.tokens.revoke(ctx.principal.tokenId);
    return { revoked: true };
  }),
});
