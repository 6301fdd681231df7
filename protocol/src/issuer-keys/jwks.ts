/**
 * The one JWKS parser of both Workers: what an issuer serves (the token
 * server's OIDC issuers, the proxy's token server) or an operator configures is
 * checked here before anything is cached or verified with.
 *
 * - a JWKS is an object with a `keys` array of at most {@link MAX_JWKS_KEYS}
 *   members (more is refused, not truncated);
 * - each key is rebuilt from its public, verification-relevant members only
 *   ({@link publicJwk}), so nothing else of the document reaches jose;
 * - a key that carries private or symmetric material (`d`, `p`, `k`, …) is
 *   dropped whole: its owner has published its secret, so anyone could have
 *   signed with it; so are encryption keys (`use` other than `sig`), `oct`
 *   keys and key types we don't verify with;
 * - a JWKS with no usable key left is refused.
 */
import type { JWK } from "jose";
import type { Result } from "../result.ts";

/** More keys than any real issuer publishes (GitHub ~2, Google ~3, Entra ~10). */
export const MAX_JWKS_KEYS = 100;

/** A parse step's result: the value, or a `detail` for the log line. */
export type Parsed<T> = Result<T>;

const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ["n", "e"],
  EC: ["crv", "x", "y"],
  OKP: ["crv", "x"],
};

/** RFC 7518 §6.2.2, §6.3.2 and §6.4.1: a key with any of these is not a public key. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

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

/** One member of a JWKS as a verification key, or undefined when it is not one. */
function signatureKey(value: unknown): JWK | undefined {
  if (!isRecord(value) || PRIVATE_MEMBERS.some((member) => member in value)) return undefined;
  if (value["use"] !== undefined && value["use"] !== "sig") return undefined;
  return publicJwk(value);
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
  const keys = members.map(signatureKey).filter((k): k is JWK => k !== undefined);
  if (keys.length === 0) return { ok: false, detail: "JWKS has no usable public signature key" };
  return { ok: true, value: keys };
}

/** {@link parseJwks} for a JWKS as text (a configured setting). */
export function parseJwksJson(text: string, maxKeys = MAX_JWKS_KEYS): Parsed<JWK[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, detail: "JWKS is not JSON" };
  }
  return parseJwks(value, maxKeys);
}
