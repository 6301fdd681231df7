/**
 * Durations as Kubernetes and Go write them (`90s`, `1h30m`, `10m0s`), so
 * flags read like the rest of a cluster's config and `cacheDuration` is what
 * the kubelet's `metav1.Duration` parses.
 */
import { parseGoDuration } from "@jwt-registry-auth/core/providers/duration";

/** Milliseconds from `1h`, `90s`, `1h30m`, `250ms` (Go's syntax, parsed by the one parser the provider config uses too) or a bare number of seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const seconds = parseGoDuration(trimmed);
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
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
