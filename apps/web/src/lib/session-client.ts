'use client';

import { useQuery } from '@tanstack/react-query';
import { usePathname } from 'next/navigation';
import { useTRPC } from './trpc';

/** The roles of the JobManager's API, weakest first. */
export const ROLES = ['viewer', 'developer', 'admin'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** Whether `role` includes `needed` (a developer may do what a viewer may, an admin all). */
export function canAct(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Whether this is the login page, where there is no session to ask about. */
export function useOnLoginPage(): boolean {
  return usePathname() === '/login';
}

/** Who is signed in (`auth.whoami`): name and role; undefined while loading or signed out. */
export function useSession(): { name: string; role: Role } | undefined {
  const trpc = useTRPC();
  const onLogin = useOnLoginPage();
  const me = useQuery({
    ...trpc.auth.whoami.queryOptions(),
    enabled: !onLogin,
    staleTime: 60_000,
    retry: false,
  });
  return me.data === undefined ? undefined : { name: me.data.name, role: me.data.role };
}
