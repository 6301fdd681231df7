/**
 * Validation of what an issuer serves: its OIDC discovery document and its JWKS.
 * Both come from the network (or an operator's config) and are checked before
 * anything is cached. Keys are reduced to their public members, so a JWKS that
 * wrongly carries private material or symmetric (`oct`) keys can never make a
 * secret usable as a verification key.
 */
import type { JWK } from "jose";

/** More keys than any real issuer publishes (GitHub ~2, Google ~3, Entra ~10). */
export const MAX_JWKS_KEYS = 100;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail: string };

const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ["n", "e"],
  EC: ["crv", "x", "y"],
  OKP: ["crv", "x"],
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The public, verification-relevant members of one JWK, or undefined when it can't be a signature key. */
export function publicJwk(value: unknown): JWK | undefined {
  if (!isRecord(value) || typeof value["kty"] !== "string") return undefined;
  const required = REQUIRED_MEMBERS[value["kty"]];
  if (required === undefined) return undefined;
  const jwk: Record<string, unknown> = { kty: value["kty"] };
  for (const member of required) {
    const v = value[member];
    if (typeof v !== "string" || v === "") return undefined;
    jwk[member] = v;
  }
  for (const member of ["kid", "alg", "use"] as const) {
    const v = value[member];
    if (v === undefined) continue;
    if (typeof v !== "string") return undefined;
    jwk[member] = v;
  }
  const ops = value["key_ops"];
  if (ops !== undefined) {
    if (!Array.isArray(ops) || !ops.every((op) => typeof op === "string")) return undefined;
    jwk["key_ops"] = [...ops];
  }
  // Every member was type-checked above: the shape is a public JWK.
  return jwk as JWK;
}

/**
 * A JWKS: an object with a `keys` array of at most `maxKeys` members, of which at
 * least one is a usable public signature key. Unusable members are dropped, not
 * fatal: issuers publish encryption keys and key types we don't verify with.
 */
export function parseJwks(value: unknown, maxKeys = MAX_JWKS_KEYS): Parsed<JWK[]> {
  if (!isRecord(value) || !Array.isArray(value["keys"])) return { ok: false, detail: "JWKS has no keys array" };
  const members: unknown[] = value["keys"];
  if (members.length > maxKeys) return { ok: false, detail: `JWKS has more than ${maxKeys} keys` };
  const keys = members.map(publicJwk).filter((k): k is JWK => k !== undefined);
  if (keys.length === 0) return { ok: false, detail: "JWKS has no usable public signature key" };
  return { ok: true, value: keys };
}

/**
 * An OIDC discovery document (OpenID Connect Discovery 1.0 §4.3): its `issuer`
 * must be exactly the configured issuer, otherwise a document served at the
 * issuer's URL could hand us another issuer's keys.
 */
export function parseDiscovery(value: unknown, expectedIssuer: string): Parsed<{ jwksUri: string }> {
  if (!isRecord(value)) return { ok: false, detail: "discovery document is not a JSON object" };
  if (value["issuer"] !== expectedIssuer) return { ok: false, detail: "discovery issuer does not match the configured issuer" };
  const jwksUri = value["jwks_uri"];
  if (typeof jwksUri !== "string" || jwksUri === "") return { ok: false, detail: "discovery document has no jwks_uri" };
  return { ok: true, value: { jwksUri } };
}
