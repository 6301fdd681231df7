/** The token server's bindings and settings, as `wrangler.toml` and `.dev.vars` define them. */
export interface Env {
  readonly JWKS_CACHE: KVNamespace;
  readonly POLICY_DB: D1Database;
  readonly TOKEN_ISSUER?: string;
  readonly TOKEN_TTL_SECONDS?: string;
  readonly ALLOWED_SERVICES?: string;
  /** PEM private key(s) (PKCS#8). Several keys, concatenated, for rotation: the first signs. */
  readonly SIGNING_KEY?: string;
  /** PEM certificate(s) for SIGNING_KEY, in any order: each is matched to its key by public key. */
  readonly SIGNING_CERT?: string;
  readonly REFRESH_TOKEN_MAX_SECONDS?: string;
  readonly ALLOW_HTTP_LOOPBACK_ISSUERS?: string;
  readonly TOKEN_X5C?: string;
  /**
   * Rate-limiting bindings (`[[ratelimits]]` in wrangler.toml), per tier: optional, so a
   * wrangler.toml from before them still deploys (then unlimited, with a warning). token/rate-limit.ts.
   */
  readonly RATE_LIMIT_SUBJECT?: RateLimit;
  readonly RATE_LIMIT_PROVIDER?: RateLimit;
  readonly RATE_LIMIT_SUBJECT_STRICT?: RateLimit;
  readonly RATE_LIMIT_PROVIDER_STRICT?: RateLimit;
}
