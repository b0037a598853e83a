import type { ProgramDiagnostic } from './api-shapes';

/** The compiler diagnostics a tRPC error carries in `data.diagnostics`, if any. */
export function diagnosticsOf(err: unknown): ProgramDiagnostic[] {
  if (typeof err !== 'object' || err === null) return [];
  const direct = (err as { diagnostics?: unknown }).diagnostics;
  const data = (err as { data?: { diagnostics?: unknown } | null }).data;
  const list = Array.isArray(direct) ? direct : Array.isArray(data?.diagnostics) ? data.diagnostics : [];
  return list.filter(
    (d): d is ProgramDiagnostic =>
      typeof d === 'object' && d !== null && typeof (d as ProgramDiagnostic).message === 'string',
  );
}

/** A message for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'Something went wrong.';
}
