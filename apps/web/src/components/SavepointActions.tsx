'use client';

import Link from 'next/link';
import { useId, useState, type ReactNode } from 'react';
import { messageOf } from '@/lib/errors';
import { useModalDialog } from '@/lib/use-modal-dialog';
import { useRescaleJob, useSavepointJob, useStopJob } from '@/lib/queries';

/** What a confirmed action shows while it runs, once it failed, and once it succeeded. */
interface ActionState {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  reset: () => void;
}

/**
 * A button opening a modal confirmation (focus trapped, Escape closes), as
 * the Cancel button does; the dialog stays open while the action runs so its
 * progress and error show where it was asked for.
 */
function ConfirmedAction({
  label,
  pendingLabel,
  title,
  description,
  confirmLabel,
  state,
  onConfirm,
  children,
  testId,
}: {
  label: string;
  pendingLabel: string;
  title: string;
  description: string;
  confirmLabel: string;
  state: ActionState;
  onConfirm: (done: () => void) => void;
  children?: ReactNode;
  testId: string;
}) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const dialog = useModalDialog(open);

  return (
    <>
      <button
        type="button"
        className="button button-secondary"
        data-testid={testId}
        disabled={state.isPending}
        onClick={() => {
          state.reset();
          setOpen(true);
        }}
      >
        {state.isPending ? pendingLabel : label}
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
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-desc`}>{description}</p>
        {children}
        {state.isError ? (
          <p className="field-error" role="alert">
            {messageOf(state.error)}
          </p>
        ) : null}
        <div className="actions">
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              setOpen(false);
            }}
          >
            Close
          </button>
          <button
            type="button"
            className="button"
            autoFocus
            disabled={state.isPending}
            onClick={() => {
              onConfirm(() => {
                setOpen(false);
              });
            }}
          >
            {state.isPending ? pendingLabel : confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/**
 * Savepoint, Stop with savepoint (optionally draining) and Rescale for a
 * running job, each confirmed, with the result (the savepoint's path, the
 * rescaled job's link) shown below the buttons.
 */
export function SavepointActions({
  jobId,
  jobName,
  parallelism,
  running,
}: {
  jobId: string;
  jobName: string;
  parallelism: number;
  /** The buttons show only while the job runs; a result stays after it ended. */
  running: boolean;
}) {
  const ids = useId();
  const savepoint = useSavepointJob();
  const stop = useStopJob();
  const rescale = useRescaleJob();
  const [drain, setDrain] = useState(false);
  const [target, setTarget] = useState(String(parallelism + 1));
  const targetValue = Number(target);
  const targetInvalid = !Number.isInteger(targetValue) || targetValue < 1 || targetValue > 4096;

  return (
    <div className="savepoint-actions">
      {running ? (
        <>
          <ConfirmedAction
            testId="savepoint-button"
            label="Savepoint"
            pendingLabel="Taking savepoint…"
            title={`Take a savepoint of ${jobName}?`}
            description="The job goes on running; its state is written to a new directory under the JobManager's savepoint directory, which nothing deletes."
            confirmLabel="Take savepoint"
            state={savepoint}
            onConfirm={(done) => {
              savepoint.mutate({ jobId }, { onSuccess: done });
            }}
          />
          <ConfirmedAction
            testId="stop-button"
            label="Stop with savepoint"
            pendingLabel="Stopping…"
            title={`Stop ${jobName} with a savepoint?`}
            description="A final savepoint is taken, then every subtask stops and the job ends FINISHED. A new job can start from the savepoint."
            confirmLabel="Stop job"
            state={stop}
            onConfirm={(done) => {
              stop.mutate({ jobId, drain }, { onSuccess: done });
            }}
          >
            <label className="checkbox">
              <input
                type="checkbox"
                checked={drain}
                onChange={(e) => {
                  setDrain(e.currentTarget.checked);
                }}
              />{' '}
              Drain (emit the MAX watermark first: every event-time window and timer fires)
            </label>
          </ConfirmedAction>
          <ConfirmedAction
            testId="rescale-button"
            label="Rescale"
            pendingLabel="Rescaling…"
            title={`Rescale ${jobName}?`}
            description={`The job is stopped with a savepoint and started again from it as a new job at the new parallelism (now ${String(parallelism)}).`}
            confirmLabel="Rescale"
            state={rescale}
            onConfirm={(done) => {
              if (targetInvalid) return;
              rescale.mutate({ jobId, parallelism: targetValue }, { onSuccess: done });
            }}
          >
            <div className="field">
              <label htmlFor={`${ids}-par`}>New parallelism</label>
              <input
                id={`${ids}-par`}
                className="input"
                inputMode="numeric"
                value={target}
                aria-invalid={targetInvalid || undefined}
                onChange={(e) => {
                  setTarget(e.currentTarget.value);
                }}
              />
              {targetInvalid ? <p className="field-error">A whole number from 1 to 4096.</p> : null}
            </div>
          </ConfirmedAction>
        </>
      ) : null}
      {savepoint.isSuccess ? (
        <p className="small" role="status" data-testid="savepoint-result">
          Savepoint {savepoint.data.checkpointId} written to <code>{savepoint.data.path}</code>
        </p>
      ) : null}
      {stop.isSuccess ? (
        <p className="small" role="status" data-testid="stop-result">
          Stopped with savepoint <code>{stop.data.path}</code>
        </p>
      ) : null}
      {rescale.isSuccess ? (
        <div className="small" role="status" data-testid="rescale-result">
          Rescaled from savepoint <code>{rescale.data.savepoint}</code>:{' '}
          <Link href={`/jobs/${encodeURIComponent(rescale.data.jobId)}`}>the new job</Link>
          {rescale.data.warnings.length > 0 ? (
            <ul className="muted" data-testid="rescale-warnings">
              {rescale.data.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
