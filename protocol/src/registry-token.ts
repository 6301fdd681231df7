/**
 * The registry token: what the token server signs and what Distribution (and our
 * proxy) verifies. Shapes follow what Distribution 2.8 and 3.x accept: `aud` a
 * JSON string, integer times, `class` in its own field.
 */
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type CryptoKey, type KeyObject, type JWK } from "jose";
import type { Result } from "./result.ts";
import type { ResourceScope } from "./scope.ts";

export interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
  readonly class?: string;
}

export interface RegistryTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: readonly AccessEntry[];
}

/** `typ` of registry tokens; refresh tokens carry {@link REFRESH_TOKEN_TYP} so neither passes for the other. */
export const REGISTRY_TOKEN_TYP = "JWT";
export const REFRESH_TOKEN_TYP = "jwt-registry-auth.refresh+jwt";
/** `typ` of the proxy's federation JWTs (proxy-worker/src/upstream/federation.ts): neither verifier above accepts it. */
export const FEDERATION_TOKEN_TYP = "jwt-registry-auth.federation+jwt";

/** What Distribution 2.8 verifies (libtrust): RSA PKCS#1 v1.5 and ECDSA. */
export const REGISTRY_TOKEN_ALGS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512"] as const;
export type RegistryTokenAlg = (typeof REGISTRY_TOKEN_ALGS)[number];

/** Distribution's leeway for `exp`/`nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 60;

export type TokenRejection =
  | "malformed"
  | "bad_signature"
  | "unknown_key"
  | "disallowed_alg"
  | "wrong_type"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "bad_claims";

export type VerifyResult<T> = Result<T, { readonly reason: TokenRejection; readonly detail: string }>;

export type VerificationKey = CryptoKey | KeyObject | JWK | Uint8Array | JWTVerifyGetKey;

export interface VerifyOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Seconds since the epoch; defaults to now. */
  readonly currentTime?: number;
}

/** Maps jose's stable error codes onto our rejection reasons; the message never holds the token. */
export function rejectionOf(error: unknown): { reason: TokenRejection; detail: string } {
  if (error instanceof joseErrors.JWTExpired) return { reason: "expired", detail: "token has expired" };
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "iss":
        return { reason: "wrong_issuer", detail: "unexpected issuer" };
      case "aud":
        return { reason: "wrong_audience", detail: "unexpected audience" };
      case "nbf":
      case "iat":
        return { reason: "not_yet_valid", detail: `token is not valid yet (${error.claim})` };
      case "typ":
        return { reason: "wrong_type", detail: "unexpected token type" };
      default:
        return { reason: "bad_claims", detail: `invalid claim ${error.claim}` };
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return { reason: "disallowed_alg", detail: "signing algorithm not allowed" };
  if (error instanceof joseErrors.JWKSNoMatchingKey) return { reason: "unknown_key", detail: "no key matches the token's kid" };
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return { reason: "bad_signature", detail: "signature verification failed" };
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JOSENotSupported) {
    return { reason: "malformed", detail: "token is malformed" };
  }
  return { reason: "malformed", detail: "token could not be verified" };
}

function isAccessEntry(value: unknown): value is AccessEntry {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["type"] === "string" &&
    typeof v["name"] === "string" &&
    Array.isArray(v["actions"]) &&
    v["actions"].every((a) => typeof a === "string") &&
    (v["class"] === undefined || typeof v["class"] === "string")
  );
}

/**
 * Verifies a registry token: signature first (with an allowlisted algorithm and
 * `typ: JWT`), then `iss`, `aud`, `exp`/`nbf` with Distribution's leeway, then
 * the claim types.
 */
export async function verifyRegistryToken(token: string, key: VerificationKey, options: VerifyOptions): Promise<VerifyResult<RegistryTokenClaims>> {
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, key as JWTVerifyGetKey, {
      algorithms: [...REGISTRY_TOKEN_ALGS],
      issuer: options.issuer,
      audience: options.audience,
      typ: REGISTRY_TOKEN_TYP,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "iss", "aud"],
      ...(options.currentTime !== undefined && { currentDate: new Date(options.currentTime * 1000) }),
    });
    payload = verified.payload as Record<string, unknown>;
  } catch (error) {
    return { ok: false, ...rejectionOf(error) };
  }
  const { iss, sub, aud, exp, nbf, iat, jti, access } = payload;
  if (
    typeof iss !== "string" ||
    typeof aud !== "string" ||
    !Number.isInteger(exp) ||
    (nbf !== undefined && !Number.isInteger(nbf)) ||
    (iat !== undefined && !Number.isInteger(iat)) ||
    (access !== undefined && !(Array.isArray(access) && access.every(isAccessEntry)))
  ) {
    return { ok: false, reason: "bad_claims", detail: "registry token claims have the wrong types" };
  }
  return {
    ok: true,
    value: {
      iss,
      sub: typeof sub === "string" ? sub : "",
      aud,
      exp: exp as number,
      nbf: (nbf as number | undefined) ?? 0,
      iat: (iat as number | undefined) ?? 0,
      jti: typeof jti === "string" ? jti : "",
      access: (access as AccessEntry[] | undefined) ?? [],
    },
  };
}

/** Whether a token's access list grants `action` on the resource (a `*` action grants every action). */
export function grants(access: readonly AccessEntry[], resource: Pick<ResourceScope, "type" | "name">, action: string): boolean {
  return access.some((entry) => entry.type === resource.type && entry.name === resource.name && (entry.actions.includes(action) || entry.actions.includes("*")));
}
