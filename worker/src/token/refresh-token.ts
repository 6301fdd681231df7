/**
 * Refresh tokens: what `docker login` stores as `identitytoken`, so a job keeps
 * pulling after its 5-minute workload JWT has expired. One is a token signed by
 * this server, bound to the provider, the workload subject, the service and a
 * snapshot of the workload's claims. Every use re-evaluates the provider's
 * current policy over that snapshot; it grants nothing by itself.
 *
 * It is bound to the provider's identity, not just its name: the workload
 * issuer and the provider_id the policy store keeps across applies
 * (policy/apply-statements.ts). `stillHonoured` re-checks at every use what was
 * checked at issue, against today's provider and settings, so removing trust
 * removes it from tokens already handed out (docs/policy.md, "What revokes a
 * refresh token").
 *
 * It can never pass for a registry token, nor a registry token for it: its `typ`
 * differs (checked here and by `verifyRegistryToken`), its `aud` is this token
 * server rather than a registry service, and it carries no `access` claim.
 */
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { rejectionOf, REFRESH_TOKEN_TYP, type Result, type TokenRejection } from "@jwt-registry-auth/protocol";
import type { SigningKeySet } from "@jwt-registry-auth/core/signing-keys/signing-key-set";
import { signJwt } from "../signing/sign.ts";

export interface RefreshGrant {
  readonly provider: string;
  /** The provider's provider_id when the token was issued. */
  readonly providerId: string;
  /** The workload token's `iss`: the provider's issuer when the token was issued. */
  readonly issuer: string;
  readonly subject: string;
  readonly service: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** The audience of refresh tokens: this token server, never a registry's service name. */
export function refreshAudience(tokenIssuer: string): string {
  return `urn:jwt-registry-auth:refresh:${tokenIssuer}`;
}

export async function issueRefreshToken(
  signing: SigningKeySet,
  tokenIssuer: string,
  grant: Omit<RefreshGrant, "issuedAt" | "expiresAt">,
  lifetimeSeconds: number,
  now: number,
): Promise<string> {
  return signJwt(
    signing.current,
    {
      iss: tokenIssuer,
      aud: refreshAudience(tokenIssuer),
      sub: `${grant.provider}:${grant.subject}`,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      jti: crypto.randomUUID(),
      prv: grant.provider,
      pid: grant.providerId,
      wiss: grant.issuer,
      wsub: grant.subject,
      svc: grant.service,
      clm: grant.claims,
    },
    { typ: REFRESH_TOKEN_TYP, x5c: false },
  );
}

const keySets = new WeakMap<SigningKeySet, JWTVerifyGetKey>();

function keysOf(signing: SigningKeySet): JWTVerifyGetKey {
  let keys = keySets.get(signing);
  if (!keys) {
    keys = createLocalJWKSet(signing.jwks);
    keySets.set(signing, keys);
  }
  return keys;
}

export type RefreshResult = Result<RefreshGrant, { readonly reason: TokenRejection | "wrong_service"; readonly detail: string }>;

/** Signature (any of our keys, so rotation doesn't log everyone out), type, issuer, audience, expiry, then shape. */
export async function verifyRefreshToken(token: string, signing: SigningKeySet, tokenIssuer: string, service: string, now: number): Promise<RefreshResult> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keysOf(signing), {
      algorithms: [...new Set(signing.all.map((k) => k.alg))],
      typ: REFRESH_TOKEN_TYP,
      issuer: tokenIssuer,
      audience: refreshAudience(tokenIssuer),
      requiredClaims: ["exp", "iat", "sub"],
      currentDate: new Date(now * 1000),
    }));
  } catch (error) {
    return { ok: false, ...rejectionOf(error) };
  }
  const { prv, pid, wiss, wsub, svc, clm, iat, exp } = payload;
  if (
    typeof prv !== "string" || typeof pid !== "string" || typeof wiss !== "string" || typeof wsub !== "string" || typeof svc !== "string" ||
    typeof clm !== "object" || clm === null || Array.isArray(clm) || typeof iat !== "number" || typeof exp !== "number"
  ) {
    // Tokens issued before provider ids existed land here too: their holders log in again.
    return { ok: false, reason: "bad_claims", detail: "refresh token claims are missing or have the wrong types" };
  }
  if (svc !== service) return { ok: false, reason: "wrong_service", detail: "refresh token was issued for another service" };
  return { ok: true, value: { provider: prv, providerId: pid, issuer: wiss, subject: wsub, service, claims: clm as Record<string, unknown>, issuedAt: iat, expiresAt: exp } };
}

/** Why a verified refresh token is no longer honoured. */
export type RefreshRevocation = "provider_changed" | "refresh_disabled" | "refresh_lifetime_exceeded";

/** How long a refresh token issued now for this provider may live: 0 = refresh is off. */
export function refreshLifetime(providerRefreshSeconds: number, serverMaxSeconds: number): number {
  return Math.min(providerRefreshSeconds, serverMaxSeconds);
}

/**
 * The issue-time rules, applied again at use: the provider is the same one
 * (id and issuer), refresh is still on for it and for the server, and the token
 * is not older than today's lifetime allows (a lowered cap shortens tokens
 * already out).
 */
export function stillHonoured(
  grant: RefreshGrant,
  provider: { readonly id: string; readonly issuer: string; readonly refreshSeconds: number },
  serverMaxSeconds: number,
  now: number,
): RefreshRevocation | undefined {
  if (grant.providerId !== provider.id || grant.issuer !== provider.issuer) return "provider_changed";
  const lifetime = refreshLifetime(provider.refreshSeconds, serverMaxSeconds);
  if (lifetime <= 0) return "refresh_disabled";
  if (now - grant.issuedAt > lifetime) return "refresh_lifetime_exceeded";
  return undefined;
}
