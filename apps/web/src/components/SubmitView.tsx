'use client';

import { useRouter } from 'next/navigation';
import { useId, useRef, useState, type DragEvent, type SyntheticEvent } from 'react';
import type { PlanInput, ProgramDiagnostic, RuntimeMode, UploadResult } from '@/lib/api-shapes';
import { splitArgs } from '@/lib/args';
import { diagnosticsOf, messageOf } from '@/lib/errors';
import { formatBytes, plural } from '@/lib/format';
import { usePlan, useSubmit } from '@/lib/queries';
import { isProgramFile, PROGRAM_EXTENSIONS, uploadProgram, UploadError } from '@/lib/upload';
import { Diagnostics } from './Diagnostics';
import { JobGraphView } from './JobGraphView';
import { ErrorState } from './StateViews';

type UploadState =
  | { kind: 'idle' }
  | { kind: 'uploading'; file: File; progress: number }
  | { kind: 'done'; file: File; artifactId: string }
  | { kind: 'failed'; file: File | null; message: string; diagnostics: ProgramDiagnostic[] };

/** A runtime mode, or '' for the program's own choice. */
type RuntimeModeChoice = '' | RuntimeMode;

/**
 * Upload a program (drag and drop or file picker, with progress), see its
 * compile errors, set arguments and parallelism, look at the optimized
 * JobGraph before anything runs, and run it.
 */
export function SubmitView() {
  const router = useRouter();
  const ids = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const [upload, setUpload] = useState<UploadState>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [args, setArgs] = useState('');
  const [parallelism, setParallelism] = useState('');
  const [runtimeMode, setRuntimeMode] = useState<RuntimeModeChoice>('');
  const [name, setName] = useState('');
  const plan = usePlan();
  const submit = useSubmit();

  const start = (file: File): void => {
    plan.reset();
    submit.reset();
    if (!isProgramFile(file.name)) {
      setUpload({
        kind: 'failed',
        file,
        message: `${file.name} is not a program: choose a ${PROGRAM_EXTENSIONS.join(', ')} file.`,
        diagnostics: [],
      });
      return;
    }
    setUpload({ kind: 'uploading', file, progress: 0 });
    uploadProgram<UploadResult>(file, (progress) => {
      setUpload((u) => (u.kind === 'uploading' && u.file === file ? { ...u, progress } : u));
    })
      .then((result) => {
        const artifactId = (result as Partial<UploadResult> | null)?.artifact?.id;
        if (!artifactId)
          throw new UploadError('The JobManager answered without an artifact id.', 'BAD_RESPONSE');
        setUpload({ kind: 'done', file, artifactId });
      })
      .catch((err: unknown) => {
        setUpload({
          kind: 'failed',
          file,
          message: messageOf(err),
          diagnostics: err instanceof UploadError ? err.diagnostics : [],
        });
      });
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
      { ...i, ...(name.trim() ? { name: name.trim() } : {}) },
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
    const file = e.dataTransfer.files[0];
    if (file) start(file);
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
            Drop a program here ({PROGRAM_EXTENSIONS.join(' ')}), or{' '}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                fileInput.current?.click();
              }}
            >
              choose a file
            </button>
            .
          </p>
          <p className="muted small">
            Its default export builds the pipeline with <code>@freshet/api</code>; the JobManager compiles and
            type-checks it.
          </p>
          <label className="visually-hidden" htmlFor={`${ids}-file`}>
            Program file
          </label>
          <input
            ref={fileInput}
            id={`${ids}-file`}
            className="visually-hidden"
            type="file"
            accept={PROGRAM_EXTENSIONS.join(',')}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) start(file);
              e.currentTarget.value = '';
            }}
          />
        </div>
        <UploadStatus upload={upload} />
      </section>

      {upload.kind === 'failed' && upload.diagnostics.length > 0 ? (
        <Diagnostics
          title={`${upload.file?.name ?? 'The program'} does not compile`}
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

function UploadStatus({ upload }: { upload: UploadState }) {
  switch (upload.kind) {
    case 'idle':
      return null;
    case 'uploading':
      return (
        <div className="upload-status" role="status" aria-live="polite">
          <span>
            Uploading <strong>{upload.file.name}</strong> ({formatBytes(upload.file.size)})…{' '}
            {Math.round(upload.progress * 100)}%{upload.progress >= 1 ? ' · compiling and type-checking' : ''}
          </span>
          <progress
            className="progress"
            max={1}
            value={upload.progress}
            aria-label={`Upload of ${upload.file.name}`}
          />
        </div>
      );
    case 'done':
      return (
        <p className="upload-status upload-ok" role="status" data-testid="upload-ok">
          ✓ <strong>{upload.file.name}</strong> compiled ({formatBytes(upload.file.size)}). Set its arguments,
          then show the plan or run it.
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
