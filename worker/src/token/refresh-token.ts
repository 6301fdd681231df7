/**
 * Refresh tokens: what `docker login` stores as `identitytoken`, so a job keeps
 * pulling after its 5-minute workload JWT has expired. One is a token signed by
 * this server, bound to the provider, the workload subject, the service and a
 * snapshot of the workload's claims. Every use re-evaluates the provider's
 * current policy over that snapshot; it grants nothing by itself.
 *
 * It can never pass for a registry token, nor a registry token for it: its `typ`
 * differs (checked here and by `verifyRegistryToken`), its `aud` is this token
 * server rather than a registry service, and it carries no `access` claim.
 */
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { rejectionOf, REFRESH_TOKEN_TYP, type TokenRejection } from "@jwt-registry-auth/protocol";
import type { SigningKeySet } from "../signing/key-set.ts";
import { signJwt } from "../signing/sign.ts";

export interface RefreshGrant {
  readonly provider: string;
  readonly subject: string;
  readonly service: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly expiresAt: number;
}

/** The audience of refresh tokens: this token server, never a registry's service name. */
export function refreshAudience(tokenIssuer: string): string {
  return `urn:jwt-registry-auth:refresh:${tokenIssuer}`;
}

export async function issueRefreshToken(
  signing: SigningKeySet,
  tokenIssuer: string,
  grant: Omit<RefreshGrant, "expiresAt">,
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

export type RefreshResult = { readonly ok: true; readonly grant: RefreshGrant } | { readonly ok: false; readonly reason: TokenRejection | "wrong_service"; readonly detail: string };

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
  const { prv, wsub, svc, clm, exp } = payload;
  if (typeof prv !== "string" || typeof wsub !== "string" || typeof svc !== "string" || typeof clm !== "object" || clm === null || Array.isArray(clm) || typeof exp !== "number") {
    return { ok: false, reason: "bad_claims", detail: "refresh token claims have the wrong types" };
  }
  if (svc !== service) return { ok: false, reason: "wrong_service", detail: "refresh token was issued for another service" };
  return { ok: true, grant: { provider: prv, subject: wsub, service: svc, claims: clm as Record<string, unknown>, expiresAt: exp } };
}
