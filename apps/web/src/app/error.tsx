'use client';

import { ErrorState } from '@/components/StateViews';

/** Last line of defence: a rendering error shows a message and a retry, never a blank page. */
export default function PageError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return <ErrorState title="Something went wrong on this page" message={error.message} onRetry={reset} />;
}
