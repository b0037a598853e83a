'use client';

import { canAct, useSession } from '@/lib/session-client';
import { Loading } from './StateViews';
import { SubmitView } from './SubmitView';

/** The Submit page's form, for a role that may upload and run programs (the JobManager refuses the others anyway). */
export function SubmitGate() {
  const session = useSession();
  if (session === undefined) return <Loading label="Checking your role…" />;
  if (!canAct(session.role, 'developer')) {
    return (
      <p className="muted" role="status" data-testid="submit-forbidden">
        Your role ({session.role}) can look at the cluster but not upload or run programs; ask an admin for a
        developer token.
      </p>
    );
  }
  return <SubmitView />;
}
