/**
 * Why a workload token was refused. One exhaustive mapping from jose's errors
 * (by class and `reason`, never by message) onto our reasons, built on the
 * protocol package's registry-token mapping. Every `detail` is a fixed text or
 * names a claim, never a value taken from the token.
 */
import { errors as joseErrors } from "jose";
import { rejectionOf, type TokenRejection } from "@jwt-registry-auth/protocol";

export type IdentityRejection =
  | "too_large"
  | "malformed"
  | "disallowed_alg"
  | "unknown_key"
  | "bad_signature"
  | "wrong_issuer"
  | "wrong_audience"
  | "expired"
  | "not_yet_valid"
  | "token_lifetime_exceeded"
  | "missing_claim"
  | "issuer_not_allowed"
  | "issuer_unavailable";

export interface Rejection {
  readonly reason: IdentityRejection;
  readonly detail: string;
}

/** Thrown from the key resolver when no keys can be had at all; it carries its own reason. */
export class KeysUnavailable extends Error {
  constructor(readonly rejection: Rejection & { readonly reason: "issuer_not_allowed" | "issuer_unavailable" }) {
    super(rejection.detail);
  }
}

/** Registry-token reasons that mean something else for a workload token. */
function fromTokenRejection(reason: TokenRejection): IdentityRejection {
  switch (reason) {
    case "wrong_type": // workload tokens have no `typ` requirement, so only a broken token gets here
    case "bad_claims":
      return "malformed";
    default:
      return reason;
  }
}

export function identityRejectionOf(error: unknown): Rejection {
  if (error instanceof KeysUnavailable) return error.rejection;
  if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
    if (error.reason === "missing") return { reason: "missing_claim", detail: `missing required claim ${error.claim}` };
    // e.g. `"nbf": "soon"`: a wrongly typed claim is a malformed token, not a timing problem.
    if (error.reason === "invalid") return { reason: "malformed", detail: `claim ${error.claim} has the wrong type` };
  }
  // The issuer's own key material is unusable (e.g. a private or too-short key): not the client's fault.
  if (error instanceof joseErrors.JWKSInvalid) return { reason: "issuer_unavailable", detail: "issuer keys are unusable" };
  const { reason, detail } = rejectionOf(error);
  return { reason: fromTokenRejection(reason), detail };
}
