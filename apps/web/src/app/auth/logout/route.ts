import type { NextRequest } from 'next/server';
import {
  crossOriginRefusal,
  jobManagerMutation,
  redirectTo,
  sameOrigin,
  SESSION_COOKIE,
  sessionToken,
} from '@/lib/session';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

/** `POST /auth/logout`: ends the session at the JobManager (its token is revoked), clears the cookie. */
export async function POST(request: NextRequest): Promise<Response> {
  if (!sameOrigin(request)) return crossOriginRefusal();
  const token = sessionToken(request);
  if (token !== undefined) await jobManagerMutation('auth.signOut', {}, token);
  const response = redirectTo(request, '/login');
  response.cookies.delete(SESSION_COOKIE);
  return response;
}
