/**
 * Keys that come with the provider's config instead of from the network: PEM
 * public keys or certificates (`keys.source === "static"`, the PoC's
 * `staticKeys`) and inline JWKS (`"jwks"`). Imported once per config and kept in
 * isolate memory under a hash of that config, so an edited config is re-imported
 * and an unchanged one costs nothing per request.
 */
import { exportJWK, importSPKI, importX509, type JWK } from "jose";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { sha256Hex } from "@jwt-registry-auth/protocol";
import { parseJwks, publicJwk, type Parsed } from "./jwks-document.ts";
import { keySetOf, kidlessKeySetOf, type KeySet } from "./key-set.ts";

export type ConfiguredKeys = Exclude<ProviderConfig["keys"], { source: "discovery" }>;

/** Configs remembered per isolate; beyond that the oldest is forgotten and re-imported on next use. */
const MAX_CONFIGS_IN_MEMORY = 256;

/**
 * A PEM says nothing about the algorithm, but WebCrypto imports need one: try
 * each key family in turn; the one that imports tells what the key is.
 */
const IMPORT_PROBES = ["RS256", "ES256", "ES384", "ES512", "EdDSA"] as const;

const PEM_BLOCK = /-----BEGIN (PUBLIC KEY|CERTIFICATE)-----[A-Za-z0-9+/=\s]+?-----END \1-----/g;

async function pemBlockToJwk(block: string, isCertificate: boolean): Promise<JWK | undefined> {
  for (const alg of IMPORT_PROBES) {
    try {
      const key = isCertificate ? await importX509(block, alg, { extractable: true }) : await importSPKI(block, alg, { extractable: true });
      const exported = await exportJWK(key);
      // WebCrypto stamps the probe's alg on the export; the key itself may serve any alg of its family (RS* and PS*).
      return publicJwk({ ...exported, alg: undefined, key_ops: undefined, use: undefined });
    } catch {
      continue;
    }
  }
  return undefined;
}

/** PEM public keys and certificates as public JWKs; any block that isn't a usable key makes the whole list invalid. */
export async function jwksFromPems(pems: readonly string[]): Promise<Parsed<JWK[]>> {
  const keys: JWK[] = [];
  for (const [index, pem] of pems.entries()) {
    const blocks = [...pem.matchAll(PEM_BLOCK)];
    if (blocks.length === 0) return { ok: false, detail: `static key ${index + 1} is not a PEM public key or certificate` };
    for (const block of blocks) {
      const jwk = await pemBlockToJwk(block[0], block[1] === "CERTIFICATE");
      if (jwk === undefined) return { ok: false, detail: `static key ${index + 1} is not an RSA, EC (P-256/384/521) or Ed25519 public key` };
      keys.push(jwk);
    }
  }
  return keys.length === 0 ? { ok: false, detail: "no static keys" } : { ok: true, value: keys };
}

async function importConfigured(keys: ConfiguredKeys): Promise<Parsed<KeySet>> {
  if (keys.source === "jwks") {
    const jwks = parseJwks(keys.jwks);
    return jwks.ok ? { ok: true, value: keySetOf(jwks.value) } : jwks;
  }
  const pems = await jwksFromPems(keys.pems);
  return pems.ok ? { ok: true, value: kidlessKeySetOf(pems.value) } : pems;
}

const imported = new Map<string, Promise<Parsed<KeySet>>>();

export async function configuredKeySet(keys: ConfiguredKeys): Promise<Parsed<KeySet>> {
  const configHash = await sha256Hex(JSON.stringify(keys));
  let keySet = imported.get(configHash);
  if (keySet === undefined) {
    keySet = importConfigured(keys);
    imported.set(configHash, keySet);
    if (imported.size > MAX_CONFIGS_IN_MEMORY) imported.delete(imported.keys().next().value as string);
  }
  return keySet;
}

/** Forgets every imported config (tests). */
export function clearConfiguredKeySets(): void {
  imported.clear();
}
