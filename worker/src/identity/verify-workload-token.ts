/**
 * The token server's trust boundary for workload identities: is this JWT really
 * from the provider's issuer, meant for this registry, and current? The order is
 * fixed: size limit; no duplicate JSON key in header or payload; the protected
 * header only to pick a key (never `none`, never HS*, and the key must suit the
 * alg); the signature; only then the claims (`iss`, `aud`, `exp`, `nbf`, `iat`,
 * `sub`, lifetime).
 */
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import { CLOCK_TOLERANCE_SECONDS, type Result } from "@jwt-registry-auth/protocol";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { maxTokenLifetimeSeconds } from "@jwt-registry-auth/core/providers/token-lifetime";
import { selectIssuerKey } from "@jwt-registry-auth/protocol/issuer-keys";
import { acceptedAudiences } from "./audience.ts";
import { JwksCache, type CacheCall, type DiscoverySource } from "./jwks-cache.ts";
import { jwsPartHasDuplicateKey } from "./duplicate-keys.ts";
import { identityRejectionOf, KeysUnavailable, type IdentityRejection } from "./rejection.ts";
import { clearConfiguredKeySets, configuredKeySet } from "./static-keys.ts";

export type { IdentityRejection } from "./rejection.ts";

export interface WorkloadIdentity {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly subject: string;
  /** `exp`, epoch seconds. */
  readonly expiresAt: number;
}

export type IdentityResult = Result<WorkloadIdentity, { readonly reason: IdentityRejection; readonly detail: string }>;

export interface VerifyContext {
  /** The requested registry service: the audience must name it (audience.ts). */
  readonly service: string;
  /** ALLOWED_SERVICES, when set: audiences naming one of these are good for that service only. */
  readonly allowedServices?: ReadonlySet<string>;
  readonly kv: KVNamespace;
  /** ALLOW_HTTP_LOOPBACK_ISSUERS. */
  readonly allowHttpLoopback: boolean;
  /** The request's `ctx.waitUntil`, so cache writes don't delay the response. */
  readonly waitUntil?: (p: Promise<unknown>) => void;
  /** Epoch seconds; defaults to the real clock. Also the JWKS cache's clock. */
  readonly now?: number;
}

/** Real workload tokens are 1–2 KB; a cap keeps hostile input away from the parser and crypto. A JWT is ASCII, so characters are bytes. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Asymmetric algorithms only: an HS* token would be "signed" with the issuer's public key, which everyone has. */
export const WORKLOAD_TOKEN_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;

const jwksCache = new JwksCache();

/** Retry-After of an `issuer_unavailable` answer: within the refetch cooldown the issuer is not asked again anyway. */
export const ISSUER_RETRY_AFTER_SECONDS = jwksCache.settings.refetchCooldownSeconds;

/** Forgets the keys this isolate holds in memory (tests; KV is untouched). */
export function resetIdentityCaches(): void {
  jwksCache.clear();
  clearConfiguredKeySets();
}

const discoverySources = new WeakMap<ProviderConfig, DiscoverySource>();

/** One source object per provider config, so the JWKS cache's per-source preparation is done once, not per request. */
function discoverySourceOf(provider: ProviderConfig, discoveryUrl: string): DiscoverySource {
  let source = discoverySources.get(provider);
  if (source === undefined) {
    source = { issuer: provider.issuer, discoveryUrl };
    discoverySources.set(provider, source);
  }
  return source;
}

/** Picks the verification key from the token's protected header; nothing else of the token is looked at. */
function keyResolver(provider: ProviderConfig, call: CacheCall): JWTVerifyGetKey {
  const { keys } = provider;
  if (keys.source !== "discovery") {
    return async (header, token) => {
      const configured = await configuredKeySet(keys);
      if (!configured.ok) throw new KeysUnavailable({ reason: "issuer_unavailable", detail: "provider keys are unusable" });
      return configured.value.getKey(header, token);
    };
  }
  const source = discoverySourceOf(provider, keys.discoveryUrl);
  return async (header, token) => {
    const current = await jwksCache.keysFor(source, call);
    if (!current.ok) throw new KeysUnavailable(current);
    return selectIssuerKey(current.value, header, token, async () => {
      const refreshed = await jwksCache.keysAfterUnknownKid(source, call);
      // A failed refetch may hide a rotated key: the issuer is unavailable, not the token bad.
      if (refreshed !== undefined && !refreshed.ok) throw new KeysUnavailable(refreshed);
      return refreshed?.value;
    });
  };
}

/** Which part of a compact JWS repeats a JSON key, if any. A token of another shape is left to jwtVerify, which refuses it. */
function partWithDuplicateKey(token: string): "header" | "payload" | undefined {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) return undefined;
  if (jwsPartHasDuplicateKey(header)) return "header";
  if (jwsPartHasDuplicateKey(payload)) return "payload";
  return undefined;
}

/**
 * jwtVerify, plus what jose leaves to the caller: when several keys suit a token
 * without a `kid` (e.g. two static PEMs during a rotation), try each; only a
 * failed signature moves on to the next key.
 */
async function verifyJwt(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (error) {
    if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
    let lastError: unknown = new joseErrors.JWKSNoMatchingKey();
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (keyError) {
        if (!(keyError instanceof joseErrors.JWSSignatureVerificationFailed)) throw keyError;
        lastError = keyError;
      }
    }
    throw lastError;
  }
}

export async function verifyWorkloadToken(token: string, provider: ProviderConfig, ctx: VerifyContext): Promise<IdentityResult> {
  if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: "too_large", detail: `token exceeds ${MAX_TOKEN_BYTES} bytes` };
  // JSON.parse keeps the last of two equal keys: refuse before anything reads either.
  const duplicate = partWithDuplicateKey(token);
  if (duplicate !== undefined) return { ok: false, reason: "malformed", detail: `the token's ${duplicate} has a duplicate JSON key` };
  const audience = acceptedAudiences(provider.audiences, ctx.service, ctx.allowedServices);
  if (audience.length === 0) {
    return { ok: false, reason: "wrong_audience", detail: ctx.service === "" ? "no service to check the audience against" : "none of the provider's audiences is for the requested service" };
  }
  const nowSeconds = ctx.now ?? Date.now() / 1000;
  const call: CacheCall = {
    kv: ctx.kv,
    allowHttpLoopback: ctx.allowHttpLoopback,
    nowMs: nowSeconds * 1000,
    ...(ctx.waitUntil !== undefined && { waitUntil: ctx.waitUntil }),
  };

  let claims: JWTPayload;
  try {
    claims = await verifyJwt(token, keyResolver(provider, call), {
      algorithms: [...WORKLOAD_TOKEN_ALGS],
      issuer: provider.issuer,
      audience,
      requiredClaims: ["exp", "sub"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowSeconds * 1000),
    });
  } catch (error) {
    return { ok: false, ...identityRejectionOf(error) };
  }

  // jose only checks that they are numbers: 1e308 and 1.5 pass, and JSON's 1e309 is Infinity.
  for (const claim of ["exp", "nbf", "iat"] as const) {
    const value = claims[claim];
    if (value !== undefined && !Number.isSafeInteger(value)) return { ok: false, reason: "malformed", detail: `claim ${claim} is not a whole number of seconds` };
  }
  const exp = claims.exp as number;
  // jose checks `iat` only with maxTokenAge, which would also make `iat` mandatory.
  if (claims.iat !== undefined && claims.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: "not_yet_valid", detail: "token is not valid yet (iat)" };
  const maxLifetime = maxTokenLifetimeSeconds(provider);
  if (exp - (claims.iat ?? nowSeconds) > maxLifetime) {
    const measured = claims.iat === undefined ? "exp - now" : "exp - iat";
    return { ok: false, reason: "token_lifetime_exceeded", detail: `token lifetime (${measured}) exceeds the provider's maximum of ${maxLifetime} s` };
  }
  if (typeof claims.sub !== "string") return { ok: false, reason: "malformed", detail: "claim sub has the wrong type" };
  if (claims.sub === "") return { ok: false, reason: "missing_claim", detail: "missing required claim sub" };
  return { ok: true, value: { claims, subject: claims.sub, expiresAt: exp } };
}
