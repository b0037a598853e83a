'use client';

import { useEffect, useRef, type RefObject } from 'react';

/**
 * Opens a `<dialog>` modally (focus trapped, Escape closes) while `open` holds
 * and closes it otherwise; attach the returned ref to the dialog and reset
 * `open` in its `onClose` so Escape keeps the two in step.
 */
export function useModalDialog(open: boolean): RefObject<HTMLDialogElement | null> {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return dialog;
}
