/**
 * Durations as Kubernetes and Go write them (`90s`, `1h30m`, `10m0s`), so
 * flags read like the rest of a cluster's config and `cacheDuration` is what
 * the kubelet's `metav1.Duration` parses.
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from `1h`, `90s`, `1h30m`, `250ms` or a bare number of seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, value, , unit] of trimmed.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) total += Number(value) * (UNITS[unit as string] as number);
  return Math.round(total);
}

/** Go's `time.Duration.String()` for whole seconds: `0s`, `45s`, `5m0s`, `1h0m0s`. */
export function formatGoDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m}m${rest}s`;
  if (m > 0) return `${m}m${rest}s`;
  return `${rest}s`;
}
