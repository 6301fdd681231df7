/**
 * The parts of an X.509 certificate (RFC 5280 4.1) the token server needs: its
 * public key and validity. Workers have no X509Certificate, hence this reader.
 * Malformed input is a DerError naming the field.
 */
import { DerTag, contextTag, decodeBitString, decodeTime, expectTag, readDer, readSequence, type Bytes } from "../der.ts";
import { keyAlgorithmOf, type KeyAlgorithm } from "./key-algorithm.ts";

export interface CertificateInfo {
  /** The DER SubjectPublicKeyInfo, as WebCrypto imports it and libtrust hashes it. */
  readonly spki: Bytes;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export function parseCertificate(der: Bytes): CertificateInfo {
  const [tbs] = readSequence(readDer(der), "Certificate", 3);
  const fields = readSequence(tbs, "TBSCertificate", 6);
  // version is `[0] EXPLICIT` and absent for v1 certificates.
  const rest = fields[0]?.tag === contextTag(0) ? fields.slice(1) : fields;
  const [, , , validity, , spki] = rest;
  const [notBefore, notAfter] = readSequence(validity, "Validity", 2);
  const [algorithm, publicKey] = readSequence(spki, "SubjectPublicKeyInfo", 2);
  decodeBitString(expectTag(publicKey, DerTag.BIT_STRING, "subjectPublicKey"), "subjectPublicKey");
  return {
    spki: (spki as NonNullable<typeof spki>).bytes,
    keyAlgorithm: keyAlgorithmOf(algorithm),
    notBefore: decodeTime(notBefore, "notBefore"),
    notAfter: decodeTime(notAfter, "notAfter"),
  };
}
