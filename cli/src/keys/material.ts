/**
 * A new registry-token signing key and its self-signed certificate, as the
 * token server's SIGNING_KEY / SIGNING_CERT settings and the registry's
 * `rootcertbundle` / `jwks` files need them. Library entry point for
 * `keys generate`, `npm start` (dev key on first run) and the e2e/bench harnesses.
 */
import type { JWK } from "jose";
import { readSigningKeys } from "@jwt-registry-auth/core/signing-keys/signing-key-set";
import { toPem } from "@jwt-registry-auth/core/signing-keys/pem";
import { createSelfSignedCertificate } from "./certificate.ts";

/** What `keys generate` makes. Ed25519 is deliberately absent: Distribution 2.8 panics on an Ed25519 certificate. */
export const GENERATED_ALGS = ["ES256", "RS256"] as const;
export type GeneratedAlg = (typeof GENERATED_ALGS)[number];

export interface SigningMaterialOptions {
  readonly alg?: GeneratedAlg;
  /** Certificate lifetime in days (default 365). */
  readonly days?: number;
  /** Certificate subject common name. */
  readonly subject?: string;
  /** Seconds since the epoch; defaults to now. */
  readonly now?: number;
}

export interface SigningMaterial {
  /** PKCS#8 PEM: SIGNING_KEY. */
  readonly keyPem: string;
  /** Self-signed certificate PEM: SIGNING_CERT and the registry's `rootcertbundle`. */
  readonly certPem: string;
  /** Public JWKS: the registry's `jwks` file (Distribution 3.x). */
  readonly jwks: { keys: JWK[] };
  readonly alg: GeneratedAlg;
  /** RFC 7638 thumbprint: the `kid` of every token this key signs. */
  readonly kid: string;
  readonly libtrustKeyId: string;
  /** Seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export const DEFAULT_DAYS = 365;
export const DEFAULT_SUBJECT = "jwt-registry-auth token signing";
/** Back-date the certificate so a clock running a little behind ours (the registry's, Cloudflare's) already accepts it. */
const BACKDATE_SECONDS = 300;
const MAX_DAYS = 36_500;

const KEY_PARAMS: Record<GeneratedAlg, RsaHashedKeyGenParams | EcKeyGenParams> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
};

export async function generateSigningMaterial(options: SigningMaterialOptions = {}): Promise<SigningMaterial> {
  const alg = options.alg ?? "ES256";
  const days = options.days ?? DEFAULT_DAYS;
  if (!GENERATED_ALGS.includes(alg)) throw new RangeError(`unsupported algorithm ${String(alg)}: use ${GENERATED_ALGS.join(" or ")}`);
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new RangeError(`days must be a whole number from 1 to ${MAX_DAYS}`);
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const notBefore = now - BACKDATE_SECONDS;
  const notAfter = now + days * 86_400;
  const pair = (await crypto.subtle.generateKey(KEY_PARAMS[alg], true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const certDer = await createSelfSignedCertificate({ alg, privateKey: pair.privateKey, spki, commonName: options.subject ?? DEFAULT_SUBJECT, notBefore, notAfter });
  const keyPem = toPem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)));
  const certPem = toPem("CERTIFICATE", certDer);
  // Read back exactly as the token server will: proves the pair loads, and gives the kid and libtrust KeyID.
  const { current, jwks } = await readSigningKeys(keyPem, certPem);
  return { keyPem, certPem, jwks, alg, kid: current.kid, libtrustKeyId: current.libtrustKeyId, notBefore: current.notBefore, notAfter: current.notAfter };
}
