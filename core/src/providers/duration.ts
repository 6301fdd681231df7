/**
 * Go's `time.ParseDuration` syntax (the PoC's config used Go durations):
 * "90m", "1h30m", "1.5h", "3600s". Positive durations only; returns seconds,
 * or undefined for anything else.
 */
const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const PART = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseGoDuration(text: string): number | undefined {
  if (text === "") return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_SECONDS[match[2] ?? ""] ?? Number.NaN);
  }
  // Round away float noise from fractional units ("1.1h") before callers test for whole seconds.
  const rounded = Math.round(total * 1e6) / 1e6;
  return Number.isFinite(rounded) && rounded > 0 ? rounded : undefined;
}
