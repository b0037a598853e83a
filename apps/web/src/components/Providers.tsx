'use client';

import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useOnLoginPage } from '@/lib/session-client';
import { createBrowserTRPCClient, TRPCProvider } from '@/lib/trpc';
import { LiveClusterProvider } from './LiveCluster';

/** A session that ended (revoked, expired, signed out elsewhere) sends the browser to the login page. */
function toLoginWhenUnauthorized(err: unknown): void {
  const code = (err as { data?: { code?: string } | null } | null)?.data?.code;
  if (code === 'UNAUTHORIZED' && window.location.pathname !== '/login') window.location.assign('/login');
}

function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: toLoginWhenUnauthorized }),
    mutationCache: new MutationCache({ onError: toLoginWhenUnauthorized }),
    defaultOptions: {
      queries: {
        // Live data arrives by subscription; refetch on focus as a safety net.
        staleTime: 2_000,
        retry: 1,
        retryDelay: 1_000,
      },
    },
  });
}

/** React Query, the typed tRPC client and the live cluster subscription, for every page. */
export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(createBrowserTRPCClient);
  const onLogin = useOnLoginPage();
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <LiveClusterProvider enabled={!onLogin}>{children}</LiveClusterProvider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
