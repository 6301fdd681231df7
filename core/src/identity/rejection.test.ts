import { errors } from "jose";
import { describe, expect, it } from "vitest";
import { identityRejectionOf, KeysUnavailable } from "./rejection.ts";

describe("identityRejectionOf", () => {
  it.each([
    [new errors.JWTClaimValidationFailed("x", {}, "aud", "missing"), { reason: "missing_claim", detail: "missing required claim aud" }],
    [new errors.JWTClaimValidationFailed("x", {}, "nbf", "invalid"), { reason: "malformed", detail: "claim nbf has the wrong type" }],
    [new errors.JWTExpired("x", {}, "exp", "invalid"), { reason: "malformed", detail: "claim exp has the wrong type" }],
    [new errors.JWTClaimValidationFailed("x", {}, "nbf", "check_failed"), { reason: "not_yet_valid", detail: "token is not valid yet (nbf)" }],
    [new errors.JWTClaimValidationFailed("x", {}, "iss", "check_failed"), { reason: "wrong_issuer", detail: "unexpected issuer" }],
    [new errors.JWTClaimValidationFailed("x", {}, "typ", "check_failed"), { reason: "malformed", detail: "unexpected token type" }],
    [new errors.JWTClaimValidationFailed("x", {}, "jti", "check_failed"), { reason: "malformed", detail: "invalid claim jti" }],
    [new errors.JWTExpired("x", {}, "exp", "check_failed"), { reason: "expired", detail: "token has expired" }],
    [new errors.JOSEAlgNotAllowed(), { reason: "disallowed_alg", detail: "signing algorithm not allowed" }],
    [new errors.JWKSNoMatchingKey(), { reason: "unknown_key", detail: "no key matches the token's kid" }],
    [new errors.JWSSignatureVerificationFailed(), { reason: "bad_signature", detail: "signature verification failed" }],
    [new errors.JWKSInvalid(), { reason: "issuer_unavailable", detail: "issuer keys are unusable" }],
    [new errors.JWSInvalid(), { reason: "malformed", detail: "token is malformed" }],
    [new TypeError("boom"), { reason: "malformed", detail: "token could not be verified" }],
    [new KeysUnavailable({ reason: "issuer_not_allowed", detail: "d" }), { reason: "issuer_not_allowed", detail: "d" }],
  ])("%s", (error, expected) => {
    expect(identityRejectionOf(error)).toEqual(expected);
  });
});
