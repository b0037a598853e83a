import { z } from 'zod';
import { StoredTextSchema } from '@freshet/protocol';
import { ROLES } from '../auth/roles.js';
import { adminProcedure, router } from '../trpc.js';

const TokenIdSchema = z.object({ id: z.uuid() });

/** `tokens.*`: API tokens (admin only). The secret of a token is shown once, when it is created. */
export const tokensRouter = router({
  /** Creates a token with a role; `expiresInDays` absent = until revoked. */
  create: adminProcedure
    .input(
      z.object({
        name: StoredTextSchema.trim().min(1).max(100),
        role: z.enum(ROLES),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.tokens.create(
        input.name,
        input.role,
        input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * 86_400_000),
      ),
    ),

  /** Tokens, newest first: live ones, or every one with `all` (never the secrets). */
  list: adminProcedure
    .input(z.object({ all: z.boolean().default(false) }).default({ all: false }))
    .query(({ ctx, input }) => ctx.tokens.list(input.all)),

  /** Revokes a token: it stops working at once. NOT_FOUND for an unknown id. */
  revoke: adminProcedure.input(TokenIdSchema).mutation(({ ctx, input }) => ctx.tokens.revoke(input.id)),
});
