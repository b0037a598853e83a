'use client';

import { useId, type ReactNode } from 'react';

/** The bar above a live tail: pause and resume, a text filter, then `children` (more controls, a status). */
export function TailControls({
  paused,
  onPausedChange,
  filter,
  onFilterChange,
  filterLabel,
  placeholder,
  children,
}: {
  paused: boolean;
  onPausedChange: (paused: boolean) => void;
  filter: string;
  onFilterChange: (filter: string) => void;
  /** Accessible name of the filter, e.g. "Filter output". */
  filterLabel: string;
  placeholder: string;
  children?: ReactNode;
}) {
  const id = useId();
  return (
    <div className="output-bar">
      <button
        type="button"
        className="button button-secondary"
        aria-pressed={paused}
        onClick={() => {
          onPausedChange(!paused);
        }}
      >
        {paused ? 'Resume' : 'Pause'}
      </button>
      <label className="visually-hidden" htmlFor={`${id}-filter`}>
        {filterLabel}
      </label>
      <input
        id={`${id}-filter`}
        className="input mono output-filter"
        type="search"
        placeholder={placeholder}
        value={filter}
        onChange={(e) => {
          onFilterChange(e.currentTarget.value);
        }}
      />
      {children}
    </div>
  );
}
