'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { createBrowserTRPCClient, TRPCProvider } from '@/lib/trpc';
import { LiveClusterProvider } from './LiveCluster';

function makeQueryClient(): QueryClient {
  return new QueryClient({
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
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <LiveClusterProvider>{children}</LiveClusterProvider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
