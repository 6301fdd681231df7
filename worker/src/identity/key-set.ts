/**
 * A set of verification keys as the JWT verifier consumes it. jose's local JWKS
 * does the key selection (kid, `kty`/`crv` for the token's alg, the JWK's own
 * `alg`, `use`, `key_ops`) and caches each imported key, so one KeySet is built
 * per fetched JWKS and reused for every token until the keys change.
 */
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from "jose";

export interface KeySet {
  readonly getKey: JWTVerifyGetKey;
  /** Whether a key with this `kid` exists at all, whatever its algorithm. */
  hasKid(kid: string): boolean;
}

export function keySetOf(keys: readonly JWK[]): KeySet {
  const kids = new Set(keys.flatMap((k) => (k.kid === undefined ? [] : [k.kid])));
  return { getKey: createLocalJWKSet({ keys: [...keys] }), hasKid: (kid) => kids.has(kid) };
}

/**
 * For keys that have no kid of their own (PEMs): the token's `kid` names a key
 * we can't identify, so selection goes by algorithm alone and every suitable key
 * is tried. jose would otherwise match no key at all for a token that has a kid.
 */
export function kidlessKeySetOf(keys: readonly JWK[]): KeySet {
  const byAlg = createLocalJWKSet({ keys: [...keys] });
  return { getKey: (header) => byAlg({ alg: header.alg }), hasKid: () => false };
}
