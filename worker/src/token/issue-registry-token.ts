/**
 * Signs the registry token Distribution 2.8 / 3.x and the proxy accept:
 * `aud` a JSON string, integer times, `class` in its own access field, and an
 * RFC 3339 `issued_at` in the response (a number breaks docker and skopeo).
 */
import { REGISTRY_TOKEN_TYP, type AccessEntry, type RegistryTokenClaims } from "@jwt-registry-auth/protocol";
import type { Settings } from "../settings.ts";
import { signJwt } from "../signing/sign.ts";

export interface TokenResponseBody {
  readonly token: string;
  readonly access_token: string;
  readonly expires_in: number;
  readonly issued_at: string;
  readonly refresh_token?: string;
}

/** `jti`: the token's id, which the caller logs (a fresh UUID unless given). */
export async function issueRegistryToken(settings: Settings, subject: string, service: string, access: readonly AccessEntry[], now: number, jti: string = crypto.randomUUID()): Promise<TokenResponseBody> {
  const claims: RegistryTokenClaims = {
    iss: settings.tokenIssuer,
    sub: subject,
    aud: service,
    exp: now + settings.tokenTtlSeconds,
    nbf: now,
    iat: now,
    jti,
    access,
  };
  const token = await signJwt(settings.signing.current, { ...claims }, { typ: REGISTRY_TOKEN_TYP, x5c: settings.x5c });
  return { token, access_token: token, expires_in: settings.tokenTtlSeconds, issued_at: new Date(now * 1000).toISOString() };
}
