/**
 * The token server's trust boundary for workload identities: is this JWT really
 * from the provider's issuer, meant for this registry, and current? The order is
 * fixed: size limit; no duplicate JSON key in header or payload; the protected
 * header only to pick a key (never `none`, never HS*, and the key must suit the
 * alg); the signature; only then the claims (`iss`, `aud`, `exp`, `nbf`, `iat`,
 * `sub`, lifetime).
 */
import type { JWTVerifyGetKey } from "jose";
import type { Result } from "@jwt-registry-auth/protocol";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { selectIssuerKey } from "@jwt-registry-auth/protocol/issuer-keys";
import { KeysUnavailable, type IdentityRejection } from "@jwt-registry-auth/core/identity/rejection";
import { verifyWorkloadJwt, workloadExpectations } from "@jwt-registry-auth/core/identity/workload-token";
import { JwksCache, type CacheCall, type DiscoverySource } from "./jwks-cache.ts";
import { clearConfiguredKeySets, configuredKeySet } from "./static-keys.ts";

export type { IdentityRejection } from "@jwt-registry-auth/core/identity/rejection";
export { MAX_TOKEN_BYTES, WORKLOAD_TOKEN_ALGS } from "@jwt-registry-auth/core/identity/workload-token";

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

/** The shared checks (core/src/identity/workload-token.ts) with this isolate's keys: KV-cached discovery, or the provider's inline keys. */
export async function verifyWorkloadToken(token: string, provider: ProviderConfig, ctx: VerifyContext): Promise<IdentityResult> {
  const nowSeconds = ctx.now ?? Date.now() / 1000;
  const call: CacheCall = {
    kv: ctx.kv,
    allowHttpLoopback: ctx.allowHttpLoopback,
    nowMs: nowSeconds * 1000,
    ...(ctx.waitUntil !== undefined && { waitUntil: ctx.waitUntil }),
  };
  const result = await verifyWorkloadJwt(token, workloadExpectations(provider, ctx.service, nowSeconds, ctx.allowedServices), keyResolver(provider, call));
  return result.ok ? result : { ok: false, reason: result.reason, detail: result.detail };
}
