/**
 * The one PEM prober of both Workers: PEM public keys and certificates (the
 * token server's static-key providers, the proxy's TOKEN_CERTS) as public JWKs.
 * A PEM says nothing about the algorithm, but WebCrypto imports need one: each
 * key family is tried in turn, and the one that imports tells what the key is.
 */
import { calculateJwkThumbprint, exportJWK, importSPKI, importX509, type JWK } from "jose";
import { publicJwk, type Parsed } from "./jwks.ts";

/** One probe per key family (and EC curve): RSA, EC P-256/384/521, Ed25519. */
export const PEM_PROBE_ALGS = ["RS256", "ES256", "ES384", "ES512", "EdDSA"] as const;

const PEM_BLOCK = /-----BEGIN (PUBLIC KEY|CERTIFICATE)-----[A-Za-z0-9+/=\s]+?-----END \1-----/g;

/**
 * The key of one PEM block. Its `kid` is the RFC 7638 thumbprint (the token
 * server's own kid, so the proxy selects its keys as the JWKS would). EC keys
 * carry the one alg their curve allows; RSA and Ed25519 keys carry none, so
 * that RS256/384/512 and PS* can all select an RSA key.
 */
async function pemBlockToJwk(block: string, isCertificate: boolean): Promise<JWK | undefined> {
  for (const alg of PEM_PROBE_ALGS) {
    let exported: JWK;
    try {
      const key = isCertificate ? await importX509(block, alg, { extractable: true }) : await importSPKI(block, alg, { extractable: true });
      exported = await exportJWK(key);
    } catch {
      continue;
    }
    // WebCrypto stamps the probe's alg on the export; only the key's own members are kept.
    const jwk = publicJwk({ ...exported, alg: undefined, key_ops: undefined, use: undefined });
    if (jwk === undefined) return undefined;
    return { ...jwk, kid: await calculateJwkThumbprint(jwk), ...(jwk.kty === "EC" && { alg }) };
  }
  return undefined;
}

/**
 * PEM public keys and certificates as public JWKs. Each entry may hold several
 * blocks; an entry without one, or any block that isn't a usable key, makes the
 * whole list invalid.
 */
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
