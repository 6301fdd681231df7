/**
 * Keys that come with the provider's config instead of from the network: PEM
 * public keys or certificates (`keys.source === "static"`, the PoC's
 * `staticKeys`) and inline JWKS (`"jwks"`), read by the shared parser and PEM
 * prober. Prepared once per config object and kept beside it (a WeakMap keyed
 * by the provider's `keys` member): the policy store keeps a compiled provider
 * for as long as its version stands, so an unchanged config costs nothing per
 * request, and an edited one is a new object, prepared anew.
 */
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { issuerKeySet, jwksFromPems, kidlessIssuerKeySet, parseJwks, type IssuerKeySet, type Parsed } from "@jwt-registry-auth/protocol/issuer-keys";

export type ConfiguredKeys = Exclude<ProviderConfig["keys"], { source: "discovery" }>;

async function importConfigured(keys: ConfiguredKeys): Promise<Parsed<IssuerKeySet>> {
  if (keys.source === "jwks") {
    const jwks = parseJwks(keys.jwks);
    return jwks.ok ? { ok: true, value: issuerKeySet(jwks.value) } : jwks;
  }
  // An issuer's PEMs say nothing of the kid its tokens carry: keys are selected by algorithm.
  const pems = await jwksFromPems(keys.pems);
  return pems.ok ? { ok: true, value: kidlessIssuerKeySet(pems.value) } : pems;
}

let prepared = new WeakMap<ConfiguredKeys, Promise<Parsed<IssuerKeySet>>>();

export function configuredKeySet(keys: ConfiguredKeys): Promise<Parsed<IssuerKeySet>> {
  let keySet = prepared.get(keys);
  if (keySet === undefined) {
    keySet = importConfigured(keys);
    prepared.set(keys, keySet);
  }
  return keySet;
}

/** Forgets every prepared config (tests). */
export function clearConfiguredKeySets(): void {
  prepared = new WeakMap();
}
