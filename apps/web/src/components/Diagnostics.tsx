import type { ProgramDiagnostic } from '@/lib/api-shapes';
import { plural } from '@/lib/format';

/** Compile, type or planning errors of a program: position, message and the code frame with its caret. */
export function Diagnostics({ title, diagnostics }: { title: string; diagnostics: ProgramDiagnostic[] }) {
  return (
    <section className="diagnostics" role="alert" aria-labelledby="diagnostics-title">
      <h2 id="diagnostics-title">
        {title} <span className="muted">({plural(diagnostics.length, 'error')})</span>
      </h2>
      <ol>
        {diagnostics.map((d, i) => (
          <li key={i} className="diagnostic" data-testid="diagnostic">
            <p className="diagnostic-head">
              <code className="diagnostic-pos">
                {d.file}:{d.line}:{d.column}
              </code>{' '}
              <span>{d.message}</span>
            </p>
            {d.codeFrame ? (
              <pre className="code-frame" aria-label={`Source around line ${d.line}`}>
                {d.codeFrame}
              </pre>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
