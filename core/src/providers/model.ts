/**
 * A provider as the token server uses it: the normalized form of one entry of
 * the YAML config (`providers[]`), stored in D1 as JSON. The YAML parser
 * (`providers/config.ts`) is the only thing that builds these from user input;
 * the D1 store re-checks the stored JSON with the same validator.
 */
import type { JWK } from "jose";
import type { StoredCondition } from "../policy/stored-condition.ts";

export interface ProviderConfig {
  /** The Basic-auth username clients send. */
  readonly name: string;
  readonly description?: string;
  /** Expected `iss`. For discovery providers it is also where discovery is read from. */
  readonly issuer: string;
  /** How the issuer's keys are found: exactly one source. */
  readonly keys:
    /** discoveryUrl is the full document URL: `<issuer>/.well-known/openid-configuration` (validate.ts checks it matches the issuer). */
    | { readonly source: "discovery"; readonly discoveryUrl: string }
    | { readonly source: "static"; readonly pems: readonly string[] }
    | { readonly source: "jwks"; readonly jwks: { readonly keys: readonly JWK[] } };
  /** Accepted `aud` values; empty = the requested service or `https://` + service. */
  readonly audiences: readonly string[];
  /** CEL; absent = every verified token authenticates. */
  readonly authn?: string;
  /** CEL; absent = every requested scope is granted (the PoC's rule). */
  readonly authz?: string;
  /**
   * The conditions' parsed form (policy/stored-condition.ts), one per present
   * condition: written by `policy apply` (apply-statements.ts), never in a
   * providers file. The token server plans these and never parses; a stored
   * row without them is refused with "re-apply" (docs/storage-schema.md).
   */
  readonly parsed?: { readonly authn?: StoredCondition; readonly authz?: StoredCondition };
  /**
   * The 1-based line, in the providers file that was applied, of each
   * condition's first row (the line after `|`/`>` for a block scalar), so an
   * explanation's row R in the condition is file line sourceLines + R - 1
   * (exact for `|` and single-line scalars). Written by the file loader
   * (config.ts), never in a providers file; absent in rows stored before it.
   */
  readonly sourceLines?: { readonly authn?: number; readonly authz?: number };
  /**
   * Refresh-token lifetime in seconds (YAML `refresh: {lifetime: 1h}`; default 3600;
   * `refresh: false` gives 0 = no refresh tokens). The server caps it at REFRESH_TOKEN_MAX_SECONDS.
   */
  readonly refreshSeconds: number;
  /**
   * Longest accepted workload-token lifetime in seconds, `exp - iat` (YAML
   * `maxTokenLifetime: 24h`). Absent = 24 h (providers/token-lifetime.ts), so
   * configs stored before the field existed keep loading.
   */
  readonly maxTokenLifetimeSeconds?: number;
  /**
   * `unpinned-acknowledged`: the operator knows this provider trusts a shared
   * issuer (GitHub Actions, GitLab.com, …) without pinning an owner id in
   * authn (policy/shared-issuer.ts). The missing pin is then a warning instead
   * of an error, and /healthz lists the provider. Absent = not acknowledged.
   */
  readonly sharedIssuer?: "unpinned-acknowledged";
  /**
   * Token-issuance rate limit tier (YAML `rateLimit: off|default|strict`): which
   * of the Worker's rate-limiting bindings count this provider's requests, per
   * subject and provider-wide (worker/src/token/rate-limit.ts; the limits are in
   * wrangler.toml). Absent = `default`, which is never stored.
   */
  readonly rateLimit?: Exclude<RateLimitTier, "default">;
}

/** The rate-limit tiers a provider can pick; the numbers behind each are the Worker's bindings. */
export const RATE_LIMIT_TIERS = ["off", "default", "strict"] as const;
export type RateLimitTier = (typeof RATE_LIMIT_TIERS)[number];
