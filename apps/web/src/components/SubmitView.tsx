'use client';

import { useRouter } from 'next/navigation';
import { useId, useRef, useState, type DragEvent, type SyntheticEvent } from 'react';
import type { PlanInput, ProgramDiagnostic, RuntimeMode, UploadResult } from '@/lib/api-shapes';
import { splitArgs } from '@/lib/args';
import { diagnosticsOf, messageOf } from '@/lib/errors';
import { formatBytes, plural } from '@/lib/format';
import {
  ARCHIVE_EXTENSIONS,
  PROGRAM_EXTENSIONS,
  preselectedEntry,
  selectionOfDrop,
  selectionOfFiles,
  type Selection,
} from '@/lib/project';
import { usePlan, useSubmit } from '@/lib/queries';
import { uploadFormOf, uploadProgram, UploadError } from '@/lib/upload';
import { Diagnostics } from './Diagnostics';
import { JobGraphView } from './JobGraphView';
import { ErrorState } from './StateViews';

type UploadState =
  | { kind: 'idle' }
  | { kind: 'choosing' }
  | { kind: 'uploading'; progress: number }
  | { kind: 'done'; artifactId: string; fileName: string }
  | { kind: 'failed'; message: string; diagnostics: ProgramDiagnostic[] };

/** A runtime mode, or '' for the program's own choice. */
type RuntimeModeChoice = '' | RuntimeMode;

/** `webkitdirectory` is not in React's input attributes; the browser reads it as a plain attribute. */
const DIRECTORY_PICKER = { webkitdirectory: '' } as object;

/**
 * Upload a program — one file, several files, a folder (drag and drop or
 * picker) or a .zip/.tar.gz project, choosing its entry file — with
 * progress, see its compile errors, set arguments and parallelism, look at
 * the optimized JobGraph before anything runs, and run it.
 */
export function SubmitView() {
  const router = useRouter();
  const ids = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [entry, setEntry] = useState<string | undefined>(undefined);
  const [upload, setUpload] = useState<UploadState>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [args, setArgs] = useState('');
  const [parallelism, setParallelism] = useState('');
  const [runtimeMode, setRuntimeMode] = useState<RuntimeModeChoice>('');
  const [name, setName] = useState('');
  const [savepointPath, setSavepointPath] = useState('');
  const [allowNonRestored, setAllowNonRestored] = useState(false);
  const plan = usePlan();
  const submit = useSubmit();
  // Only the latest upload may update the state (a new pick supersedes one in flight).
  const attempt = useRef(0);

  const send = (picked: Selection, chosen: string | undefined): void => {
    plan.reset();
    submit.reset();
    const mine = ++attempt.current;
    const current = (): boolean => attempt.current === mine;
    setUpload({ kind: 'uploading', progress: 0 });
    uploadProgram<UploadResult>(uploadFormOf(picked, chosen), picked.label, (progress) => {
      if (current()) setUpload((u) => (u.kind === 'uploading' ? { ...u, progress } : u));
    })
      .then((result) => {
        const artifact = (result as Partial<UploadResult> | null)?.artifact;
        if (!artifact?.id)
          throw new UploadError('The JobManager answered without an artifact id.', 'BAD_RESPONSE');
        if (current()) setUpload({ kind: 'done', artifactId: artifact.id, fileName: artifact.fileName });
      })
      .catch((err: unknown) => {
        if (!current()) return;
        setUpload({
          kind: 'failed',
          message: messageOf(err),
          diagnostics: err instanceof UploadError ? err.diagnostics : [],
        });
      });
  };

  const pick = (picked: Selection | Error | undefined): void => {
    if (picked === undefined) return;
    plan.reset();
    submit.reset();
    attempt.current++;
    if (picked instanceof Error) {
      setSelection(null);
      setUpload({ kind: 'failed', message: picked.message, diagnostics: [] });
      return;
    }
    setSelection(picked);
    if (picked.kind === 'program') {
      setEntry(undefined);
      send(picked, undefined);
      return;
    }
    if (picked.candidates.length === 0) {
      setEntry(undefined);
      setUpload({
        kind: 'failed',
        message: `${picked.label} holds no program file (${PROGRAM_EXTENSIONS.join(', ')} outside node_modules).`,
        diagnostics: [],
      });
      return;
    }
    const preselected = preselectedEntry(picked.candidates);
    setEntry(preselected);
    if (preselected === undefined) setUpload({ kind: 'choosing' });
    else send(picked, preselected);
  };

  const onEntry = (chosen: string): void => {
    if (selection === null || chosen === '') return;
    setEntry(chosen);
    send(selection, chosen);
  };

  const parallelismValue = parallelism.trim() === '' ? undefined : Number(parallelism);
  const parallelismInvalid =
    parallelismValue !== undefined && (!Number.isInteger(parallelismValue) || parallelismValue < 1);

  const input = (): PlanInput | null => {
    if (upload.kind !== 'done' || parallelismInvalid) return null;
    return {
      artifactId: upload.artifactId,
      args: splitArgs(args),
      ...(parallelismValue !== undefined ? { parallelism: parallelismValue } : {}),
      ...(runtimeMode ? { runtimeMode } : {}),
    };
  };

  const onShowPlan = (): void => {
    const i = input();
    if (i) plan.mutate(i);
  };
  const onRun = (e: SyntheticEvent): void => {
    e.preventDefault();
    const i = input();
    if (!i) return;
    submit.mutate(
      {
        ...i,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(savepointPath.trim() ? { savepointPath: savepointPath.trim() } : {}),
        allowNonRestoredState: allowNonRestored,
      },
      {
        onSuccess: ({ jobId }) => {
          router.push(`/jobs/${encodeURIComponent(jobId)}`);
        },
      },
    );
  };

  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setDragging(false);
    selectionOfDrop(e.dataTransfer).then(pick, (err: unknown) => {
      pick(new Error(`The drop could not be read: ${messageOf(err)}`));
    });
  };

  const ready = upload.kind === 'done';
  const busy = plan.isPending || submit.isPending;
  const planDiagnostics = plan.error ? diagnosticsOf(plan.error) : [];
  const submitDiagnostics = submit.error ? diagnosticsOf(submit.error) : [];

  return (
    <div className="submit">
      <section className="panel" aria-labelledby={`${ids}-program`}>
        <h2 id={`${ids}-program`} className="panel-title">
          1. Program
        </h2>
        <div
          className="dropzone"
          data-dragging={dragging || undefined}
          data-testid="dropzone"
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = 'copy';
            setDragging(true);
          }}
          onDragLeave={() => {
            setDragging(false);
          }}
          onDrop={onDrop}
        >
          <p>
            Drop a program, a folder or a project archive here, or choose{' '}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                fileInput.current?.click();
              }}
            >
              files
            </button>{' '}
            or{' '}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                folderInput.current?.click();
              }}
            >
              a folder
            </button>
            .
          </p>
          <p className="muted small">
            A program ({PROGRAM_EXTENSIONS.join(' ')}), a bundle from <code>freshet bundle</code>, or a
            project as a folder, several files or {ARCHIVE_EXTENSIONS.join(' ')} (relative imports and its own{' '}
            <code>node_modules</code>). Its default export builds the pipeline with <code>@freshet/api</code>;
            the JobManager compiles and type-checks it.
          </p>
          <label className="visually-hidden" htmlFor={`${ids}-file`}>
            Program file
          </label>
          <input
            ref={fileInput}
            id={`${ids}-file`}
            className="visually-hidden"
            type="file"
            multiple
            accept={[...PROGRAM_EXTENSIONS, ...ARCHIVE_EXTENSIONS].join(',')}
            onChange={(e) => {
              const files = Array.from(e.currentTarget.files ?? []);
              e.currentTarget.value = '';
              void selectionOfFiles(files).then(pick);
            }}
          />
          <label className="visually-hidden" htmlFor={`${ids}-folder`}>
            Program folder
          </label>
          <input
            ref={folderInput}
            id={`${ids}-folder`}
            className="visually-hidden"
            type="file"
            {...DIRECTORY_PICKER}
            onChange={(e) => {
              const files = Array.from(e.currentTarget.files ?? []);
              e.currentTarget.value = '';
              void selectionOfFiles(files).then(pick);
            }}
          />
        </div>
        {selection !== null && selection.kind !== 'program' ? (
          <div className="field entry-field">
            <label htmlFor={`${ids}-entry`}>Entry file</label>
            <select
              id={`${ids}-entry`}
              className="input mono"
              value={entry ?? ''}
              onChange={(e) => {
                onEntry(e.currentTarget.value);
              }}
            >
              {entry === undefined ? <option value="">Choose the entry file…</option> : null}
              {selection.candidates.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
            <span className="muted small">
              {selection.label}: {plural(selection.paths.length, 'file')}, {formatBytes(selection.size)}
            </span>
          </div>
        ) : null}
        <UploadStatus upload={upload} selection={selection} />
      </section>

      {upload.kind === 'failed' && upload.diagnostics.length > 0 ? (
        <Diagnostics
          title={`${selection?.label ?? 'The program'} does not compile`}
          diagnostics={upload.diagnostics}
        />
      ) : null}

      <form className="panel" aria-labelledby={`${ids}-run`} onSubmit={onRun}>
        <h2 id={`${ids}-run`} className="panel-title">
          2. Run settings
        </h2>
        <div className="fields">
          <div className="field field-wide">
            <label htmlFor={`${ids}-args`}>Arguments</label>
            <input
              id={`${ids}-args`}
              className="input mono"
              value={args}
              placeholder="--rate 1000 --count 5000"
              onChange={(e) => {
                setArgs(e.currentTarget.value);
              }}
              aria-describedby={`${ids}-args-help`}
            />
            <span id={`${ids}-args-help`} className="muted small">
              Passed to the program as its <code>args</code>; quote values with spaces.
            </span>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-par`}>Parallelism</label>
            <input
              id={`${ids}-par`}
              className="input"
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={parallelism}
              placeholder="program's default"
              aria-invalid={parallelismInvalid || undefined}
              onChange={(e) => {
                setParallelism(e.currentTarget.value);
              }}
            />
            {parallelismInvalid ? (
              <span className="field-error" role="alert">
                A whole number of at least 1.
              </span>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor={`${ids}-mode`}>Runtime mode</label>
            <select
              id={`${ids}-mode`}
              className="input"
              value={runtimeMode}
              onChange={(e) => {
                setRuntimeMode(e.currentTarget.value as RuntimeModeChoice);
              }}
            >
              <option value="">Program&apos;s choice</option>
              <option value="STREAMING">Streaming</option>
              <option value="BATCH">Batch</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-name`}>Job name</label>
            <input
              id={`${ids}-name`}
              className="input"
              value={name}
              placeholder="program's name"
              onChange={(e) => {
                setName(e.currentTarget.value);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-savepoint`}>Start from savepoint</label>
            <input
              id={`${ids}-savepoint`}
              className="input"
              value={savepointPath}
              placeholder="optional: a savepoint or retained checkpoint path"
              onChange={(e) => {
                setSavepointPath(e.currentTarget.value);
              }}
            />
            <label className="checkbox">
              <input
                type="checkbox"
                role="switch"
                checked={allowNonRestored}
                onChange={(e) => {
                  setAllowNonRestored(e.currentTarget.checked);
                }}
              />
              Allow non-restored state
            </label>
          </div>
        </div>
        <div className="actions">
          <button
            type="button"
            className="button button-secondary"
            disabled={!ready || busy || parallelismInvalid}
            onClick={onShowPlan}
          >
            {plan.isPending ? 'Planning…' : 'Show plan'}
          </button>
          <button type="submit" className="button" disabled={!ready || busy || parallelismInvalid}>
            {submit.isPending ? 'Submitting…' : 'Run'}
          </button>
          {!ready ? <span className="muted small">Upload a program first.</span> : null}
        </div>
        {submit.isError ? (
          submitDiagnostics.length > 0 ? (
            <Diagnostics title="The job was not submitted" diagnostics={submitDiagnostics} />
          ) : (
            <ErrorState title="The job was not submitted" message={messageOf(submit.error)} />
          )
        ) : null}
      </form>

      {plan.isError ? (
        planDiagnostics.length > 0 ? (
          <Diagnostics title="The program could not be planned" diagnostics={planDiagnostics} />
        ) : (
          <ErrorState title="The program could not be planned" message={messageOf(plan.error)} />
        )
      ) : null}
      {plan.data ? (
        <section className="panel" aria-labelledby={`${ids}-plan`}>
          <h2 id={`${ids}-plan`} className="panel-title">
            Optimized plan
          </h2>
          <p className="muted small" data-testid="plan-summary">
            {plan.data.jobGraph.jobName} · {plural(plan.data.jobGraph.vertices.length, 'vertex', 'vertices')}{' '}
            · {plural(plan.data.jobGraph.edges.length, 'exchange')} · {plan.data.jobGraph.runtimeMode} ·
            parallelism {plan.data.jobGraph.parallelism} · plan <code>{plan.data.planHash.slice(0, 12)}</code>
          </p>
          <JobGraphView graph={plan.data.jobGraph} label="Optimized JobGraph of the program" />
        </section>
      ) : null}
    </div>
  );
}

function UploadStatus({ upload, selection }: { upload: UploadState; selection: Selection | null }) {
  const label = selection?.label ?? 'The program';
  const size = selection === null ? '' : ` (${formatBytes(selection.size)})`;
  switch (upload.kind) {
    case 'idle':
      return null;
    case 'choosing':
      return (
        <p className="upload-status" role="status" data-testid="upload-choose-entry">
          <span>
            Choose the entry file of <strong>{label}</strong>: the module whose default export builds the
            pipeline.
          </span>
        </p>
      );
    case 'uploading':
      return (
        <div className="upload-status" role="status" aria-live="polite">
          <span>
            Uploading <strong>{label}</strong>
            {size}… {Math.round(upload.progress * 100)}%
            {upload.progress >= 1 ? ' · compiling and type-checking' : ''}
          </span>
          <progress className="progress" max={1} value={upload.progress} aria-label={`Upload of ${label}`} />
        </div>
      );
    case 'done':
      return (
        <p className="upload-status upload-ok" role="status" data-testid="upload-ok">
          ✓ <strong>{upload.fileName}</strong> compiled{size}. Set its arguments, then show the plan or run
          it.
        </p>
      );
    case 'failed':
      return upload.diagnostics.length > 0 ? null : (
        <div className="state state-error upload-status" role="alert">
          <h2>The upload failed</h2>
          <p>{upload.message}</p>
        </div>
      );
  }
}
