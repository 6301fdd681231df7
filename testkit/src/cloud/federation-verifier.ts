/**
 * How a cloud verifies a federation JWT from a registered OIDC issuer: the
 * issuer must be registered; its discovery document and JWKS are fetched from
 * the issuer URL itself (as AWS, GCP and Entra do); then signature, `iss`,
 * `aud` and `exp`/`nbf` against the cloud's own clock (steerable for skew).
 * Shared by the cloud stand-ins in this folder.
 */
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";

export type FederationRefusal = "unregistered_issuer" | "discovery_failed" | "bad_signature" | "wrong_audience" | "expired" | "not_yet_valid" | "malformed";

export type FederationVerdict = { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly refusal: FederationRefusal; readonly detail: string };

export interface FederationVerifierOptions {
  /** Registered issuer URLs (an IAM OIDC provider, a pool provider, a federated credential). */
  readonly issuers: () => readonly string[];
  /** The cloud's clock, epoch ms. */
  readonly now: () => number;
  /** Leeway on exp/nbf, seconds (AWS allows a few minutes of skew; default 0 so tests see it). */
  readonly clockToleranceSeconds?: number;
}

export async function verifyFederationJwt(token: string, audience: string, options: FederationVerifierOptions): Promise<FederationVerdict> {
  let iss: string | undefined;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return { ok: false, refusal: "malformed", detail: "not a JWT" };
  }
  if (iss === undefined || !options.issuers().includes(iss)) return { ok: false, refusal: "unregistered_issuer", detail: `no OIDC provider for issuer ${String(iss)}` };
  let jwks;
  try {
    const discovery = (await (await fetch(`${iss.replace(/\/$/, "")}/.well-known/openid-configuration`)).json()) as { issuer?: string; jwks_uri?: string };
    if (discovery.issuer !== iss || typeof discovery.jwks_uri !== "string") return { ok: false, refusal: "discovery_failed", detail: "discovery document does not name this issuer and a jwks_uri" };
    jwks = createLocalJWKSet(await (await fetch(discovery.jwks_uri)).json());
  } catch {
    return { ok: false, refusal: "discovery_failed", detail: "discovery document or JWKS could not be fetched" };
  }
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer: iss,
      audience,
      algorithms: ["ES256", "RS256"],
      requiredClaims: ["exp", "sub", "aud"],
      currentDate: new Date(options.now()),
      clockTolerance: options.clockToleranceSeconds ?? 0,
    });
    return { ok: true, claims: payload };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, refusal: "expired", detail: "token is expired" };
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === "aud") return { ok: false, refusal: "wrong_audience", detail: "incorrect token audience" };
    if (error instanceof joseErrors.JWTClaimValidationFailed && (error.claim === "nbf" || error.claim === "iat")) return { ok: false, refusal: "not_yet_valid", detail: "token is not valid yet" };
    if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) return { ok: false, refusal: "bad_signature", detail: "signature does not verify" };
    return { ok: false, refusal: "malformed", detail: "token could not be verified" };
  }
}
