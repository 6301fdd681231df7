/**
 * Which registry-token algorithm a key is for, read from the AlgorithmIdentifier
 * of its PKCS#8 PrivateKeyInfo or X.509 SubjectPublicKeyInfo (RFC 5480, 8017).
 * Distribution 2.8 verifies only RSA PKCS#1 v1.5 and ECDSA; anything else is
 * refused here, Ed25519 with the reason (2.8 panics on an Ed25519 certificate).
 */
import { DerError, decodeOid, readDer, readSequence, type Bytes, type DerNode } from "../der.ts";
import type { RegistryTokenAlg } from "@jwt-registry-auth/protocol";

export type KeyAlgorithm =
  | { readonly kind: "EC"; readonly alg: "ES256" | "ES384" | "ES512"; readonly namedCurve: "P-256" | "P-384" | "P-521" }
  | { readonly kind: "RSA"; readonly alg: "RS256" };

// Spelled via SubtleCrypto so this file compiles against both workers-types (Worker) and lib.dom (CLI).
type ImportParams = Parameters<SubtleCrypto["importKey"]>[2];
type SignParams = Parameters<SubtleCrypto["sign"]>[0];

/** WebCrypto import parameters for a key of this algorithm. */
export function importParams(algorithm: KeyAlgorithm): ImportParams {
  return algorithm.kind === "EC" ? { name: "ECDSA", namedCurve: algorithm.namedCurve } : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/** WebCrypto sign/verify parameters for a JWS alg. */
export function signParams(alg: RegistryTokenAlg): SignParams {
  return alg.startsWith("ES") ? { name: "ECDSA", hash: `SHA-${alg.slice(2)}` } : { name: "RSASSA-PKCS1-v1_5" };
}

const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const CURVES: Record<string, KeyAlgorithm & { kind: "EC" }> = {
  "1.2.840.10045.3.1.7": { kind: "EC", alg: "ES256", namedCurve: "P-256" },
  "1.3.132.0.34": { kind: "EC", alg: "ES384", namedCurve: "P-384" },
  "1.3.132.0.35": { kind: "EC", alg: "ES512", namedCurve: "P-521" },
};
const REFUSED: Record<string, string> = {
  "1.3.101.112": "Ed25519 keys can't sign registry tokens (Distribution 2.8 panics on an Ed25519 certificate); use ES256 or RS256",
  "1.3.101.113": "Ed448 keys can't sign registry tokens; use ES256 or RS256",
  "1.2.840.113549.1.1.10": "RSA-PSS keys can't sign registry tokens (Distribution verifies PKCS#1 v1.5 only); use a plain RSA (rsaEncryption) key",
  "1.3.101.110": "X25519 is a key-agreement key, not a signing key",
  "1.3.101.111": "X448 is a key-agreement key, not a signing key",
};

/** Reads an AlgorithmIdentifier; throws DerError for anything Distribution can't verify. */
export function keyAlgorithmOf(algorithmIdentifier: DerNode | undefined): KeyAlgorithm {
  const [oidNode, params] = readSequence(algorithmIdentifier, "key AlgorithmIdentifier", 1);
  const oid = decodeOid(oidNode, "key algorithm");
  if (oid === RSA_ENCRYPTION) return { kind: "RSA", alg: "RS256" };
  if (oid === EC_PUBLIC_KEY) {
    const curveOid = decodeOid(params, "EC curve (named curves only)");
    const curve = CURVES[curveOid];
    if (!curve) throw new DerError(`EC curve ${curveOid} is not supported: use P-256, P-384 or P-521`);
    return curve;
  }
  throw new DerError(REFUSED[oid] ?? `key algorithm ${oid} is not supported: use an EC (P-256/384/521) or RSA key`);
}

/** The algorithm of a PKCS#8 PrivateKeyInfo (RFC 5208: version, algorithm, privateKey, ...). */
export function pkcs8KeyAlgorithm(der: Bytes): KeyAlgorithm {
  const [, algorithm] = readSequence(readDer(der), "PrivateKeyInfo", 3);
  return keyAlgorithmOf(algorithm);
}
