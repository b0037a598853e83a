'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { canAct, useOnLoginPage, useSession, type Role } from '@/lib/session-client';
import { LiveIndicator } from './LiveIndicator';
import { ThemeToggle } from './ThemeToggle';

/** A page of the dashboard's navigation. */
export interface NavItem {
  href: string;
  label: string;
  /** The role a page needs (its actions would be refused below it). @default 'viewer' */
  role?: Role;
}

/** The header's navigation, in order. */
export const NAV_ITEMS: readonly NavItem[] = [
  { href: '/', label: 'Overview' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/submit', label: 'Submit', role: 'developer' },
  { href: '/taskmanagers', label: 'TaskManagers' },
  { href: '/jobmanager', label: 'JobManager' },
];

/** Who is signed in, and a sign-out button (a same-origin form POST). */
function SessionMenu() {
  const session = useSession();
  if (session === undefined) return null;
  return (
    <form method="post" action="/auth/logout" className="session">
      <span className="session-who" data-testid="session-role" title={`Signed in with ${session.name}`}>
        {session.role}
      </span>
      <button type="submit" className="button button-secondary button-small">
        Sign out
      </button>
    </form>
  );
}

function isActive(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

/** Page frame: skip link, header with brand, navigation, live status and theme toggle, then the page. */
export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const session = useSession();
  const onLogin = useOnLoginPage();
  const items = onLogin
    ? []
    : NAV_ITEMS.filter((item) => item.role === undefined || canAct(session?.role, item.role));
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="header">
        <div className="header-inner">
          <Link href="/" className="brand" aria-label="Freshet home">
            <span className="brand-mark" aria-hidden="true">
              ≋
            </span>
            Freshet
          </Link>
          <nav aria-label="Main" className="nav">
            <ul>
              {items.map((item) => {
                const active = isActive(pathname, item.href);
                return (
                  <li key={item.href}>
                    <Link href={item.href} className="nav-link" aria-current={active ? 'page' : undefined}>
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="header-tools">
            {onLogin ? null : <LiveIndicator />}
            <SessionMenu />
            <ThemeToggle />
          </div>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
