'use client';

import { useId, useState } from 'react';
import { messageOf } from '@/lib/errors';
import { useModalDialog } from '@/lib/use-modal-dialog';
import { useCancelJob } from '@/lib/queries';

/** "Cancel job", confirmed in a modal dialog (focus trapped, Escape closes). */
export function CancelJobButton({ jobId, jobName }: { jobId: string; jobName: string }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const dialog = useModalDialog(open);
  const cancel = useCancelJob();

  return (
    <>
      <button
        type="button"
        className="button button-danger"
        disabled={cancel.isPending || cancel.isSuccess}
        onClick={() => {
          cancel.reset();
          setOpen(true);
        }}
      >
        {cancel.isSuccess ? 'Cancelling…' : 'Cancel job'}
      </button>
      <dialog
        ref={dialog}
        className="dialog"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-desc`}
        onClose={() => {
          setOpen(false);
        }}
      >
        <h2 id={`${id}-title`}>Cancel {jobName}?</h2>
        <p id={`${id}-desc`}>
          Every subtask stops and the job ends CANCELED. Its state is not kept unless a checkpoint has
          completed. This cannot be undone.
        </p>
        {cancel.isError ? (
          <p className="field-error" role="alert">
            {messageOf(cancel.error)}
          </p>
        ) : null}
        <div className="actions">
          <button
            type="button"
            className="button button-secondary"
            autoFocus
            onClick={() => {
              setOpen(false);
            }}
          >
            Keep running
          </button>
          <button
            type="button"
            className="button button-danger"
            disabled={cancel.isPending}
            onClick={() => {
              cancel.mutate(
                { jobId },
                {
                  onSuccess: () => {
                    setOpen(false);
                  },
                },
              );
            }}
          >
            {cancel.isPending ? 'Cancelling…' : 'Cancel job'}
          </button>
        </div>
      </dialog>
    </>
  );
}
