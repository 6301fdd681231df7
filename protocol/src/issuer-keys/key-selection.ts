/**
 * A set of issuer keys as the JWT verifier consumes it. jose's local JWKS does
 * the key selection (kid, `kty`/`crv` for the token's alg, the JWK's own `alg`,
 * `use`, `key_ops`) and caches each imported key, so one set is built per
 * fetched or configured JWKS and reused for every token until the keys change.
 */
import { createLocalJWKSet, errors as joseErrors, type FlattenedJWSInput, type JWK, type JWTHeaderParameters, type JWTVerifyGetKey } from "jose";

export interface IssuerKeySet {
  readonly getKey: JWTVerifyGetKey;
  /** Whether a key with this `kid` exists at all, whatever its algorithm. */
  hasKid(kid: string): boolean;
}

export function issuerKeySet(keys: readonly JWK[]): IssuerKeySet {
  const kids = new Set(keys.flatMap((k) => (k.kid === undefined ? [] : [k.kid])));
  return { getKey: createLocalJWKSet({ keys: [...keys] }), hasKid: (kid) => kids.has(kid) };
}

/**
 * For keys whose kid the tokens don't use (an issuer's PEMs): selection goes by
 * algorithm alone and every suitable key is tried. jose would otherwise match no
 * key at all for a token whose kid differs.
 */
export function kidlessIssuerKeySet(keys: readonly JWK[]): IssuerKeySet {
  const byAlg = createLocalJWKSet({ keys: [...keys] });
  return { getKey: (header) => byAlg({ alg: header.alg }), hasKid: () => false };
}

/**
 * Picks the key for a token from the current keys; only when the token names a
 * `kid` the source has never shown (a rotation) are newer keys asked for, once.
 * `refetch` answers undefined when there are none to be had: the original
 * no-matching-key error then stands. Anything else is final.
 */
export async function selectIssuerKey(
  current: IssuerKeySet,
  header: JWTHeaderParameters,
  token: FlattenedJWSInput,
  refetch: () => Promise<IssuerKeySet | undefined>,
): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
  try {
    return await current.getKey(header, token);
  } catch (error) {
    const { kid } = header;
    if (!(error instanceof joseErrors.JWKSNoMatchingKey) || kid === undefined || current.hasKid(kid)) throw error;
    const refreshed = await refetch();
    if (refreshed === undefined) throw error;
    return refreshed.getKey(header, token);
  }
}
