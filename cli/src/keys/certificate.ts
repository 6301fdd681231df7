/**
 * Builds a self-signed X.509 v3 certificate (RFC 5280) in pure code — WebCrypto
 * signs a TBSCertificate built with the shared DER writer — so `keys generate`
 * works wherever Node runs, without openssl. The extensions are what
 * `openssl req -x509` writes (basicConstraints CA, subject/authority key IDs)
 * plus keyUsage, so the certificate is a valid trust anchor for a registry's
 * `rootcertbundle` and for `openssl verify`.
 */
import {
  DerTag,
  contextTag,
  encodeBitString,
  encodeBoolean,
  encodeDer,
  encodeExplicit,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeSmallInteger,
  encodeTime,
  encodeUnsignedInteger,
  encodeUtf8String,
  decodeBitString,
  readDer,
  readSequence,
  type Bytes,
} from "@jwt-registry-auth/core/der";
import type { RegistryTokenAlg } from "@jwt-registry-auth/protocol";
import { signParams } from "@jwt-registry-auth/core/signing-keys/key-algorithm";

export interface CertificateRequest {
  readonly alg: RegistryTokenAlg;
  readonly privateKey: CryptoKey;
  /** DER SubjectPublicKeyInfo of the matching public key. */
  readonly spki: Bytes;
  /** The subject's (and issuer's) common name. */
  readonly commonName: string;
  /** Seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Signature AlgorithmIdentifiers: ECDSA without parameters (RFC 5758 3.2), RSA with NULL (RFC 4055 5). */
const SIGNATURE_ALGORITHMS: Record<RegistryTokenAlg, Uint8Array> = {
  ES256: encodeSequence(encodeOid("1.2.840.10045.4.3.2")),
  ES384: encodeSequence(encodeOid("1.2.840.10045.4.3.3")),
  ES512: encodeSequence(encodeOid("1.2.840.10045.4.3.4")),
  RS256: encodeSequence(encodeOid("1.2.840.113549.1.1.11"), encodeNull()),
  RS384: encodeSequence(encodeOid("1.2.840.113549.1.1.12"), encodeNull()),
  RS512: encodeSequence(encodeOid("1.2.840.113549.1.1.13"), encodeNull()),
};

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return encodeSequence(encodeOid(oid), ...(critical ? [encodeBoolean(true)] : []), encodeOctetString(value));
}

function name(commonName: string): Uint8Array {
  return encodeSequence(encodeSet(encodeSequence(encodeOid("2.5.4.3"), encodeUtf8String(commonName))));
}

/** WebCrypto's ECDSA signature is r‖s (IEEE P1363); X.509 wants SEQUENCE { r INTEGER, s INTEGER }. */
function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return encodeSequence(encodeUnsignedInteger(raw.subarray(0, half)), encodeUnsignedInteger(raw.subarray(half)));
}

export async function createSelfSignedCertificate(request: CertificateRequest): Promise<Bytes> {
  const { alg, commonName, spki } = request;
  if (commonName === "" || commonName.length > 64) throw new RangeError("the subject common name must be 1 to 64 characters (RFC 5280 ub-common-name)");
  const [, subjectPublicKey] = readSequence(readDer(spki), "SubjectPublicKeyInfo", 2);
  // Key identifier method 1 of RFC 5280 4.2.1.2, as openssl computes it.
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", decodeBitString(subjectPublicKey, "subjectPublicKey")));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40; // positive, and always 16 octets
  const keyUsage = encodeDer(DerTag.BIT_STRING, Uint8Array.of(2, 0x84)); // digitalSignature (bit 0), keyCertSign (bit 5); 2 unused bits
  const tbs = encodeSequence(
    encodeExplicit(0, encodeSmallInteger(2)), // v3
    encodeUnsignedInteger(serial),
    SIGNATURE_ALGORITHMS[alg],
    name(commonName),
    encodeSequence(encodeTime(request.notBefore), encodeTime(request.notAfter)),
    name(commonName),
    spki,
    encodeExplicit(
      3,
      encodeSequence(
        extension("2.5.29.19", true, encodeSequence(encodeBoolean(true))), // basicConstraints: CA
        extension("2.5.29.15", true, keyUsage),
        extension("2.5.29.14", false, encodeOctetString(keyId)), // subjectKeyIdentifier
        extension("2.5.29.35", false, encodeSequence(encodeDer(contextTag(0, false), keyId))), // authorityKeyIdentifier
      ),
    ),
  );
  const signature = new Uint8Array(await crypto.subtle.sign(signParams(alg), request.privateKey, tbs));
  return encodeSequence(tbs, SIGNATURE_ALGORITHMS[alg], encodeBitString(alg.startsWith("ES") ? ecdsaSignatureToDer(signature) : signature));
}
