import { TRPCClientError } from '@trpc/client';

/** The TRPCClientError a call rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejection(p: Promise<unknown>): Promise<TRPCClientError<never>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<never>;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** The tRPC code (`NOT_FOUND`, …) a client error carries in `data.code`. */
export const codeOf = (err: TRPCClientError<never>): string | undefined =>
  (err.data as { code?: string } | undefined)?.code;
