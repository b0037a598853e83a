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

/** Records (or anything) per second, compact: `0`, `12.5`, `980`, `12.3k`, `4.1M`. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '–';
  return formatCount(perSecond, perSecond < 100 && perSecond % 1 !== 0 ? 1 : 0);
}

/** A count, compact: `980`, `12.3k`, `4.1M`, `2.0G`. */
export function formatCount(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs < 1_000) return n.toFixed(digits);
  if (abs < 1_000_000) return `${(n / 1_000).toFixed(1)}k`;
  if (abs < 1_000_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return `${(n / 1_000_000_000).toFixed(1)}G`;
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `230.0 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value.toFixed(0)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A ratio in [0, 1] as a whole percentage: `0%`, `37%`, `100%`. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${Math.round(Math.min(1, Math.max(0, ratio)) * 100)}%`;
}

/**
 * An event-time watermark (ms since epoch) as a UTC time of day with
 * milliseconds; `–` when there is none yet (no watermark, or the initial
 * minimum), `end` for the final watermark of a bounded input.
 */
export function formatWatermark(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= -8.64e15) return '–';
  if (ms >= 8.64e15 || ms >= Number.MAX_SAFE_INTEGER) return 'end';
  return new Date(ms).toISOString().slice(11, 23);
}

/** Wall-clock time of an ISO timestamp, in the browser's zone: `14:03:07`, or with the date if not today. */
export function formatTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const time = d.toLocaleTimeString('en-GB', { hour12: false });
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay ? time : `${d.toLocaleDateString('en-CA')} ${time}`;
}

/** Duration between two ISO timestamps, or from `start` until `now` while running. */
export function formatDuration(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number | null,
): string {
  if (!start) return '–';
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  if (to === null || Number.isNaN(from) || Number.isNaN(to)) return '…';
  const ms = to - from;
  return ms < 1000 ? `${Math.max(0, ms)}ms` : formatAge(ms);
}

/** CPU use as a share of one core (may exceed 100% on several cores): `3%`, `140%`. */
export function formatCpu(fractionOfCore: number | null | undefined): string {
  if (fractionOfCore === null || fractionOfCore === undefined || !Number.isFinite(fractionOfCore)) return '–';
  return `${Math.round(fractionOfCore * 100)}%`;
}
