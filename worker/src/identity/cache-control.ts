/**
 * How long a fetched JWKS counts as fresh: the issuer's `Cache-Control: max-age`,
 * clamped so a misconfigured issuer can neither make us refetch on every request
 * nor pin keys for days.
 */

export interface FreshnessBounds {
  readonly minSeconds: number;
  readonly maxSeconds: number;
  /** When the issuer sends no max-age. */
  readonly defaultSeconds: number;
}

export function freshLifetimeSeconds(cacheControl: string | null, bounds: FreshnessBounds): number {
  const directives = (cacheControl ?? "").toLowerCase().split(",").map((d) => d.trim());
  // no-store / no-cache ask us not to reuse the response: the closest we can honour is the minimum.
  if (directives.some((d) => d === "no-store" || d === "no-cache")) return bounds.minSeconds;
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)?.[1]).find((v) => v !== undefined);
  const seconds = maxAge === undefined ? bounds.defaultSeconds : Number(maxAge);
  return Math.min(bounds.maxSeconds, Math.max(bounds.minSeconds, seconds));
}
