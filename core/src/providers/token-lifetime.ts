/**
 * The longest workload token a provider accepts, as `exp - iat` (or `exp - now`
 * without `iat`). Real workload tokens live minutes to hours (GitHub 5 min,
 * Kubernetes TokenRequest 10 min to a few hours); a token valid until the year
 * 2500 is a leaked signing key's dream or an issuer bug, and either way should
 * not buy registry tokens. YAML `maxTokenLifetime: 24h`; stored as seconds.
 */
import type { ProviderConfig } from "./model.ts";

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
export const MIN_MAX_TOKEN_LIFETIME_SECONDS = 60;
/** A year and a day: room for clusters that issue year-long service-account tokens, and no further. */
export const MAX_MAX_TOKEN_LIFETIME_SECONDS = 366 * 24 * 3600;

export function maxTokenLifetimeSeconds(provider: ProviderConfig): number {
  return provider.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
}

/** Why a stored or parsed value is not a usable maximum, or undefined when it is. */
export function maxTokenLifetimeProblem(seconds: unknown): string | undefined {
  if (typeof seconds === "number" && Number.isInteger(seconds) && seconds >= MIN_MAX_TOKEN_LIFETIME_SECONDS && seconds <= MAX_MAX_TOKEN_LIFETIME_SECONDS) return undefined;
  return `must be a whole number of seconds from ${MIN_MAX_TOKEN_LIFETIME_SECONDS} (1m) to ${MAX_MAX_TOKEN_LIFETIME_SECONDS} (8784h)`;
}
