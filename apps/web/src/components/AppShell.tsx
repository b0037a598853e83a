'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { LiveIndicator } from './LiveIndicator';
import { ThemeToggle } from './ThemeToggle';

/** A page of the dashboard's navigation. */
export interface NavItem {
  href: string;
  label: string;
}

/** The header's navigation, in order. */
export const NAV_ITEMS: readonly NavItem[] = [
  { href: '/', label: 'Overview' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/submit', label: 'Submit' },
  { href: '/taskmanagers', label: 'TaskManagers' },
];

function isActive(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

/** Page frame: skip link, header with brand, navigation, live status and theme toggle, then the page. */
export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
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
              {NAV_ITEMS.map((item) => {
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
            <LiveIndicator />
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
