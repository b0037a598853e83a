/**
 * A duration as people read it on a dashboard: `now`, `4s`, `2m 5s`, `3h 12m`, `2d 4h`.
 *
 * @param ms - duration in milliseconds; negative values (clock skew) read as `now`
 */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return 'now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** How long ago something happened: `just now`, `4s ago`, `2m 5s ago`. */
export function formatAgo(ms: number): string {
  const age = formatAge(ms);
  return age === 'now' ? 'just now' : `${age} ago`;
}

/** `1 TaskManager`, `2 TaskManagers`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
