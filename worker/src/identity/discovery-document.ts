/**
 * Validation of an issuer's OIDC discovery document, fetched before its JWKS
 * (whose parser is the shared one in `@jwt-registry-auth/protocol/issuer-keys`).
 */
import type { Parsed } from "@jwt-registry-auth/protocol/issuer-keys";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
