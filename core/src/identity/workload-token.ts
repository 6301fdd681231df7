/**
 * The checks a workload token must pass, in the order the token server runs
 * them, shared by the token server (worker/src/identity/verify-workload-token.ts,
 * which supplies the keys from KV / the issuer's JWKS) and `policy test --token`
 * (which supplies the provider's keys when it can reach them, or none). One
 * order, one set of rejection codes, so the CLI can't say "allowed" where the
 * server answers 401.
 *
 * The order: size; no duplicate JSON key in header or payload; an audience the
 * provider accepts for the service; the protected header (an allowlisted
 * asymmetric alg, nothing else read); the signature; only then the claims:
 * presence of iss, aud, sub, exp; iss; aud; iat/nbf/exp types and times with
 * CLOCK_TOLERANCE_SECONDS; whole seconds; iat not in the future; lifetime; sub.
 */
import { base64url, compactVerify, decodeProtectedHeader, errors as joseErrors, type JWTVerifyGetKey } from "jose";
import { CLOCK_TOLERANCE_SECONDS, type Result } from "@jwt-registry-auth/protocol";
import type { ProviderConfig } from "../providers/model.ts";
import { maxTokenLifetimeSeconds } from "../providers/token-lifetime.ts";
import { acceptedAudiences } from "./audience.ts";
import { jwsPartHasDuplicateKey } from "./duplicate-keys.ts";
import { identityRejectionOf, type IdentityRejection } from "./rejection.ts";

/** Real workload tokens are 1–2 KB; a cap keeps hostile input away from the parser and crypto. A JWT is ASCII, so characters are bytes. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Asymmetric algorithms only: an HS* token would be "signed" with the issuer's public key, which everyone has. */
export const WORKLOAD_TOKEN_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;

/** Every check, in the order it runs; a refusal names the one that decided. */
export const WORKLOAD_CHECKS = ["size", "duplicate_keys", "service_audience", "header", "signature", "iss", "aud", "sub", "exp", "nbf", "iat", "lifetime"] as const;
export type WorkloadCheck = (typeof WORKLOAD_CHECKS)[number];

export interface WorkloadRefusal {
  readonly reason: IdentityRejection;
  readonly detail: string;
  readonly check: WorkloadCheck;
}

export interface VerifiedWorkloadToken {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly subject: string;
  /** `exp`, epoch seconds. */
  readonly expiresAt: number;
}

export type WorkloadTokenResult = Result<VerifiedWorkloadToken, WorkloadRefusal>;

/** What the claims are checked against; from workloadExpectations, or by hand in tests. */
export interface WorkloadExpectations {
  readonly issuer: string;
  /** The `aud` values accepted for this service (audience.ts); never empty. */
  readonly audiences: readonly string[];
  readonly maxLifetimeSeconds: number;
  /** Epoch seconds. */
  readonly now: number;
}

function refusal(check: WorkloadCheck, reason: IdentityRejection, detail: string): { ok: false } & WorkloadRefusal {
  return { ok: false, check, reason, detail };
}

/** The provider's expectations for a token presented for `service`, or the refusal when none of its audiences is for that service. */
export function workloadExpectations(
  provider: ProviderConfig,
  service: string,
  now: number,
  allowedServices?: ReadonlySet<string>,
): Result<WorkloadExpectations, WorkloadRefusal> {
  const audiences = acceptedAudiences(provider.audiences, service, allowedServices);
  if (audiences.length === 0) {
    return refusal("service_audience", "wrong_audience", service === "" ? "no service to check the audience against" : "none of the provider's audiences is for the requested service");
  }
  return { ok: true, value: { issuer: provider.issuer, audiences, maxLifetimeSeconds: maxTokenLifetimeSeconds(provider), now } };
}

/** Which part of a compact JWS repeats a JSON key, if any. A token of another shape is left to the header check, which refuses it. */
function partWithDuplicateKey(token: string): "header" | "payload" | undefined {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) return undefined;
  if (jwsPartHasDuplicateKey(header)) return "header";
  if (jwsPartHasDuplicateKey(payload)) return "payload";
  return undefined;
}

/** Size, duplicate keys, header: what is checked before any key is looked for. */
export function checkTokenShape(token: string): WorkloadRefusal | undefined {
  if (token.length > MAX_TOKEN_BYTES) return refusal("size", "too_large", `token exceeds ${MAX_TOKEN_BYTES} bytes`);
  // JSON.parse keeps the last of two equal keys: refuse before anything reads either.
  const duplicate = partWithDuplicateKey(token);
  if (duplicate !== undefined) return refusal("duplicate_keys", "malformed", `the token's ${duplicate} has a duplicate JSON key`);
  return undefined;
}

function checkHeader(token: string): WorkloadRefusal | undefined {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return refusal("header", "malformed", "token is malformed");
  }
  if (token.split(".").length !== 3) return refusal("header", "malformed", "token is malformed");
  const alg = header["alg"];
  if (typeof alg !== "string" || alg === "") return refusal("header", "malformed", "token is malformed");
  if (!(WORKLOAD_TOKEN_ALGS as readonly string[]).includes(alg)) return refusal("header", "disallowed_alg", "signing algorithm not allowed");
  // An unencoded payload (RFC 7797) is not a JWT.
  if (header["b64"] === false) return refusal("header", "malformed", "token is malformed");
  return undefined;
}

function parsePayload(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function base64UrlBytes(part: string): Uint8Array | undefined {
  try {
    return base64url.decode(part);
  } catch {
    return undefined;
  }
}

/**
 * The signature, through `getKey`; when several keys suit a token without a
 * `kid` (e.g. two static PEMs during a rotation), each is tried, and only a
 * failed signature moves on to the next key. Returns the payload bytes.
 */
async function verifySignature(token: string, getKey: JWTVerifyGetKey): Promise<Uint8Array> {
  const options = { algorithms: [...WORKLOAD_TOKEN_ALGS] };
  try {
    return (await compactVerify(token, getKey, options)).payload;
  } catch (error) {
    if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
    let lastError: unknown = new joseErrors.JWKSNoMatchingKey();
    for await (const key of error) {
      try {
        return (await compactVerify(token, key, options)).payload;
      } catch (keyError) {
        if (!(keyError instanceof joseErrors.JWSSignatureVerificationFailed)) throw keyError;
        lastError = keyError;
      }
    }
    throw lastError;
  }
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === "string") return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === "string" && accepted.includes(a));
}

/** The claim checks, after the signature (or, for `policy test` without keys, on the decoded payload). */
export function checkWorkloadClaims(claims: Readonly<Record<string, unknown>>, expected: WorkloadExpectations): WorkloadTokenResult {
  for (const claim of ["iss", "aud", "sub", "exp"] as const) {
    if (!(claim in claims)) return refusal(claim, "missing_claim", `missing required claim ${claim}`);
  }
  if (claims["iss"] !== expected.issuer) return refusal("iss", "wrong_issuer", "unexpected issuer");
  if (!audienceMatches(claims["aud"], expected.audiences)) return refusal("aud", "wrong_audience", "unexpected audience");
  const now = Math.floor(expected.now);
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== "number") return refusal("iat", "malformed", "claim iat has the wrong type");
  if (nbf !== undefined) {
    if (typeof nbf !== "number") return refusal("nbf", "malformed", "claim nbf has the wrong type");
    if (nbf > now + CLOCK_TOLERANCE_SECONDS) return refusal("nbf", "not_yet_valid", "token is not valid yet (nbf)");
  }
  if (typeof exp !== "number") return refusal("exp", "malformed", "claim exp has the wrong type");
  if (exp <= now - CLOCK_TOLERANCE_SECONDS) return refusal("exp", "expired", "token has expired");
  // A number is not enough: 1e308 and 1.5 are numbers, and JSON's 1e309 is Infinity.
  for (const [claim, value] of [["exp", exp], ["nbf", nbf], ["iat", iat]] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) return refusal(claim, "malformed", `claim ${claim} is not a whole number of seconds`);
  }
  if (iat !== undefined && iat > expected.now + CLOCK_TOLERANCE_SECONDS) return refusal("iat", "not_yet_valid", "token is not valid yet (iat)");
  if (exp - (iat ?? expected.now) > expected.maxLifetimeSeconds) {
    const measured = iat === undefined ? "exp - now" : "exp - iat";
    return refusal("lifetime", "token_lifetime_exceeded", `token lifetime (${measured}) exceeds the provider's maximum of ${expected.maxLifetimeSeconds} s`);
  }
  const sub = claims["sub"];
  if (typeof sub !== "string") return refusal("sub", "malformed", "claim sub has the wrong type");
  if (sub === "") return refusal("sub", "missing_claim", "missing required claim sub");
  return { ok: true, value: { claims, subject: sub, expiresAt: exp } };
}

/**
 * Every check in order. `keys` is how the signature is checked; "unverified"
 * (only `policy test` without reachable keys) skips the signature and runs
 * everything else on the decoded payload, so the caller must say so.
 */
export async function verifyWorkloadJwt(token: string, expected: Result<WorkloadExpectations, WorkloadRefusal>, keys: JWTVerifyGetKey | "unverified"): Promise<WorkloadTokenResult> {
  const shape = checkTokenShape(token);
  if (shape !== undefined) return { ok: false, ...shape };
  if (!expected.ok) return expected;
  const header = checkHeader(token);
  if (header !== undefined) return { ok: false, ...header };
  let payload: Uint8Array | undefined;
  if (keys === "unverified") {
    payload = base64UrlBytes(token.split(".")[1] ?? "");
  } else {
    try {
      payload = await verifySignature(token, keys);
    } catch (error) {
      return { ok: false, check: "signature", ...identityRejectionOf(error) };
    }
  }
  const claims = payload === undefined ? undefined : parsePayload(payload);
  if (claims === undefined) return refusal("header", "malformed", "token is malformed");
  return checkWorkloadClaims(claims, expected.value);
}
