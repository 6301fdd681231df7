/**
 * Token-issuance rate limits, through the Workers rate-limiting binding
 * (`[[ratelimits]]` in wrangler.toml; docs/policy.md, "Abuse limits").
 *
 * Two counters per request, each keyed by what the issuer vouched for:
 *   subject:<provider>:<sub>   checked once the workload token (or refresh token) is verified
 *   provider:<provider>        checked once authn has also admitted it
 * so requests nobody signed consume nothing, and a stranger's genuine token on a
 * shared issuer (any GitHub repository) uses up only its own subject's budget,
 * never the provider's. Both come before any signing.
 *
 * A binding's limit and period are fixed in wrangler.toml, so the providers
 * file picks a tier (`rateLimit: off|default|strict`), i.e. which pair of
 * bindings counts the provider. A missing binding means no limit for that
 * counter (a wrangler.toml from before the limits), with one warning per
 * isolate; a limiter that throws lets the request through, with a warning: the
 * limit is abuse protection, and failing closed would turn a limiter outage
 * into a login outage.
 */
import type { ProviderConfig, RateLimitTier } from "@jwt-registry-auth/core/providers/model";
import type { Env } from "../env.ts";

/** The period of every `[[ratelimits]]` binding in wrangler.toml, in seconds: the 429's Retry-After. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

export type RateLimitKind = "subject" | "provider";

type LimitedTier = Exclude<RateLimitTier, "off">;

/** The binding that counts each (tier, kind). */
export const RATE_LIMIT_BINDINGS = {
  default: { subject: "RATE_LIMIT_SUBJECT", provider: "RATE_LIMIT_PROVIDER" },
  strict: { subject: "RATE_LIMIT_SUBJECT_STRICT", provider: "RATE_LIMIT_PROVIDER_STRICT" },
} as const satisfies Record<LimitedTier, Record<RateLimitKind, keyof Env>>;

export type RateLimitBindingName = (typeof RATE_LIMIT_BINDINGS)[LimitedTier][RateLimitKind];

export function rateLimitKey(kind: RateLimitKind, provider: string, subject: string): string {
  return kind === "provider" ? `provider:${provider}` : `subject:${provider}:${subject}`;
}

export type RateLimitVerdict = { readonly limited: false } | { readonly limited: true; readonly kind: RateLimitKind; readonly retryAfterSeconds: number };

const warned = new Set<string>();

function warnOnce(event: string, binding: string, detail?: string): void {
  if (warned.has(`${event}:${binding}`)) return;
  warned.add(`${event}:${binding}`);
  console.warn(JSON.stringify({ event, binding, ...(detail !== undefined && { detail }) }));
}

/** The bindings wrangler.toml should declare and this deployment lacks (for a health check). */
export function missingRateLimitBindings(env: Env): RateLimitBindingName[] {
  return Object.values(RATE_LIMIT_BINDINGS)
    .flatMap((pair) => [pair.subject, pair.provider])
    .filter((name) => env[name] === undefined);
}

/**
 * Counts one request against the provider's `kind` counter. `limited: true`
 * only when the binding said so; off, a missing binding or a failing limiter
 * all let it through.
 */
export async function checkRateLimit(env: Env, kind: RateLimitKind, provider: Pick<ProviderConfig, "name" | "rateLimit">, subject: string): Promise<RateLimitVerdict> {
  const tier: RateLimitTier = provider.rateLimit ?? "default";
  if (tier === "off") return { limited: false };
  const name = RATE_LIMIT_BINDINGS[tier][kind];
  const binding = env[name];
  if (binding === undefined) {
    warnOnce("rate_limit_binding_missing", name, "wrangler.toml has no [[ratelimits]] binding of this name: token requests it would count are not limited");
    return { limited: false };
  }
  try {
    const { success } = await binding.limit({ key: rateLimitKey(kind, provider.name, subject) });
    return success ? { limited: false } : { limited: true, kind, retryAfterSeconds: RATE_LIMIT_PERIOD_SECONDS };
  } catch (error) {
    warnOnce("rate_limit_error", name, error instanceof Error ? error.message.slice(0, 200) : "unknown");
    return { limited: false };
  }
}

/** For tests: forget which warnings were given. */
export function resetRateLimitWarnings(): void {
  warned.clear();
}
