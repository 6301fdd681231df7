/**
 * The registry-token signing keys, from the SIGNING_KEY and SIGNING_CERT
 * settings. SIGNING_KEY holds one or more PKCS#8 PEM private keys; the first
 * signs, the others are published for rotation (the next key before it takes
 * over, the previous one until its tokens have expired). SIGNING_CERT holds each
 * key's certificate — the registry's `rootcertbundle` — matched by public key,
 * in any order.
 *
 * Errors name the setting and what is wrong, never the key material.
 */
import { calculateJwkThumbprint, type JWK } from "jose";
import { DerError } from "../der.ts";
import type { RegistryTokenAlg } from "@jwt-registry-auth/protocol";
import { parseCertificate, type CertificateInfo } from "./certificate.ts";
import { importParams, pkcs8KeyAlgorithm, type KeyAlgorithm } from "./key-algorithm.ts";
import { libtrustKeyId } from "./libtrust.ts";
import { parsePemBlocks, PemError, toPem, type PemBlock } from "./pem.ts";

export type SigningAlg = RegistryTokenAlg;

export interface SigningKey {
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key. */
  readonly kid: string;
  /** What Distribution 2.8 matches `kid` against when a token has no `x5c`. */
  readonly libtrustKeyId: string;
  readonly alg: SigningAlg;
  /** Non-extractable. */
  readonly privateKey: CryptoKey;
  /** The public key with `kid`, `alg` and `use: "sig"`. */
  readonly publicJwk: JWK;
  readonly certificateDer: Uint8Array;
  readonly certificatePem: string;
  /** The certificate's validity period, seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface SigningKeySet {
  /** The key that signs: the first in SIGNING_KEY. */
  readonly current: SigningKey;
  /** Every key, in SIGNING_KEY order. */
  readonly all: readonly SigningKey[];
  readonly jwks: { keys: JWK[] };
  /** Every certificate, in key order: what `/certs.pem` serves. */
  readonly certificatesPem: string;
}

export type SigningSetting = "SIGNING_KEY" | "SIGNING_CERT";

export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
  constructor(
    readonly setting: SigningSetting,
    message: string,
  ) {
    super(message);
  }
}

/** Distribution accepts smaller RSA keys; we don't (NIST SP 800-131A). */
const MIN_RSA_BITS = 2048;
/** A current certificate may start this far in the future (clock skew between the generating host and Cloudflare). */
const NOT_BEFORE_LEEWAY_SECONDS = 60;
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "key_ops", "ext"];

interface PublicKeyIdentity {
  readonly kid: string;
  readonly jwk: JWK;
}

interface ParsedKey extends PublicKeyIdentity {
  readonly algorithm: KeyAlgorithm;
  readonly privateKey: CryptoKey;
}

interface ParsedCert extends PublicKeyIdentity {
  readonly der: Uint8Array;
  readonly info: CertificateInfo;
}

async function identityOf(key: CryptoKey): Promise<PublicKeyIdentity> {
  const exported = (await crypto.subtle.exportKey("jwk", key)) as JWK;
  // workerd lists absent members as undefined (an RSA JWK with `crv: undefined`): keep only real public members.
  const jwk = Object.fromEntries(Object.entries(exported).filter(([member, value]) => value !== undefined && !PRIVATE_JWK_MEMBERS.includes(member))) as JWK;
  return { jwk, kid: await calculateJwkThumbprint(jwk, "sha256") };
}

function modulusBits(jwk: JWK): number {
  const n = jwk.n ?? "";
  const bytes = Math.floor((n.length * 6) / 8);
  const first = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(n[0] ?? "A");
  // The first base64url character carries the top 6 bits: count its leading zeros.
  const leadingZeros = first <= 0 ? 6 : 5 - Math.floor(Math.log2(first));
  return bytes * 8 - leadingZeros;
}

function pemBlocksOf(setting: SigningSetting, text: string | undefined, what: string): PemBlock[] {
  if (text === undefined || text.trim() === "") {
    throw new SigningKeyError(setting, `${setting} is not set: it must hold ${what} (\`jwt-registry-auth keys generate\` makes them)`);
  }
  let blocks: PemBlock[];
  try {
    blocks = parsePemBlocks(text);
  } catch (error) {
    if (error instanceof PemError) throw new SigningKeyError(setting, `${setting}: ${error.message}`);
    throw error;
  }
  if (blocks.length === 0) throw new SigningKeyError(setting, `${setting} holds no PEM block: it must hold ${what}`);
  return blocks;
}

function wrongLabel(setting: SigningSetting, n: number, label: string): SigningKeyError {
  const hints: Record<string, string> = {
    "EC PRIVATE KEY": "convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`",
    "RSA PRIVATE KEY": "convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`",
    "ENCRYPTED PRIVATE KEY": "encrypted keys are not supported; decrypt it with `openssl pkcs8 -nocrypt`",
    CERTIFICATE: "certificates belong in SIGNING_CERT",
    "PRIVATE KEY": "private keys belong in SIGNING_KEY, never in SIGNING_CERT",
  };
  const expected = setting === "SIGNING_KEY" ? "PRIVATE KEY" : "CERTIFICATE";
  return new SigningKeyError(setting, `${setting}: block ${n} is a ${label}, expected ${expected}${hints[label] ? `: ${hints[label]}` : ""}`);
}

async function readKeys(keyPem: string | undefined): Promise<ParsedKey[]> {
  const blocks = pemBlocksOf("SIGNING_KEY", keyPem, "PKCS#8 PEM private keys (-----BEGIN PRIVATE KEY-----)");
  const keys: ParsedKey[] = [];
  for (const [i, block] of blocks.entries()) {
    const n = i + 1;
    if (block.label !== "PRIVATE KEY") throw wrongLabel("SIGNING_KEY", n, block.label);
    let algorithm: KeyAlgorithm;
    let identity: PublicKeyIdentity;
    let privateKey: CryptoKey;
    try {
      algorithm = pkcs8KeyAlgorithm(block.der);
      identity = await identityOf(await crypto.subtle.importKey("pkcs8", block.der, importParams(algorithm), true, ["sign"]));
      privateKey = await crypto.subtle.importKey("pkcs8", block.der, importParams(algorithm), false, ["sign"]);
    } catch (error) {
      throw new SigningKeyError("SIGNING_KEY", `SIGNING_KEY: key ${n} is not a usable PKCS#8 private key: ${reason(error)}`);
    }
    if (algorithm.kind === "RSA" && modulusBits(identity.jwk) < MIN_RSA_BITS) {
      throw new SigningKeyError("SIGNING_KEY", `SIGNING_KEY: key ${n} is a ${modulusBits(identity.jwk)}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
    }
    const duplicate = keys.findIndex((k) => k.kid === identity.kid);
    if (duplicate >= 0) throw new SigningKeyError("SIGNING_KEY", `SIGNING_KEY: keys ${duplicate + 1} and ${n} are the same key (kid ${identity.kid})`);
    keys.push({ ...identity, algorithm, privateKey });
  }
  return keys;
}

async function readCerts(certPem: string | undefined): Promise<ParsedCert[]> {
  const blocks = pemBlocksOf("SIGNING_CERT", certPem, "the PEM certificate of each SIGNING_KEY (-----BEGIN CERTIFICATE-----)");
  const certs: ParsedCert[] = [];
  for (const [i, block] of blocks.entries()) {
    const n = i + 1;
    if (block.label !== "CERTIFICATE") throw wrongLabel("SIGNING_CERT", n, block.label);
    let info: CertificateInfo;
    let identity: PublicKeyIdentity;
    try {
      info = parseCertificate(block.der);
      identity = await identityOf(await crypto.subtle.importKey("spki", info.spki, importParams(info.keyAlgorithm), true, ["verify"]));
    } catch (error) {
      throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT: certificate ${n} is not a usable X.509 certificate: ${reason(error)}`);
    }
    const duplicate = certs.findIndex((c) => c.kid === identity.kid);
    if (duplicate >= 0) throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT: certificates ${duplicate + 1} and ${n} are for the same key (kid ${identity.kid}); keep one`);
    certs.push({ ...identity, der: block.der, info });
  }
  return certs;
}

/** Our own errors explain themselves; WebCrypto's (DOMException) are reported by name only. */
function reason(error: unknown): string {
  if (error instanceof DerError) return error.message;
  if (error instanceof Error) return `${error.name}: the key data was rejected`;
  return "unknown error";
}

/** Parses and matches the keys and certificates, without checking validity periods (see {@link checkValidity}). */
export async function readSigningKeys(keyPem: string | undefined, certPem: string | undefined): Promise<SigningKeySet> {
  const keys = await readKeys(keyPem);
  const certs = await readCerts(certPem);
  const all: SigningKey[] = [];
  for (const [i, key] of keys.entries()) {
    const cert = certs.find((c) => c.kid === key.kid);
    if (!cert) throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT has no certificate for key ${i + 1} of SIGNING_KEY (kid ${key.kid}); every key needs its certificate`);
    all.push({
      kid: key.kid,
      libtrustKeyId: await libtrustKeyId(cert.info.spki),
      alg: key.algorithm.alg,
      privateKey: key.privateKey,
      publicJwk: { ...key.jwk, kid: key.kid, alg: key.algorithm.alg, use: "sig" },
      certificateDer: cert.der,
      certificatePem: toPem("CERTIFICATE", cert.der),
      notBefore: cert.info.notBefore,
      notAfter: cert.info.notAfter,
    });
  }
  const stray = certs.find((c) => !keys.some((k) => k.kid === c.kid));
  if (stray) throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT: certificate ${certs.indexOf(stray) + 1} (kid ${stray.kid}) matches no key in SIGNING_KEY`);
  return { current: all[0] as SigningKey, all, jwks: { keys: all.map((k) => k.publicJwk) }, certificatesPem: all.map((k) => k.certificatePem).join("") };
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** Registries refuse tokens whose x5c certificate (or bundle entry) is out of its validity period. */
export function checkValidity(set: SigningKeySet, now: number): void {
  for (const [i, key] of set.all.entries()) {
    if (key.notAfter <= now) {
      throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT: the certificate of key ${i + 1} (kid ${key.kid}) expired at ${iso(key.notAfter)}; make a new key with \`jwt-registry-auth keys generate\` and drop the expired one`);
    }
  }
  if (set.current.notBefore > now + NOT_BEFORE_LEEWAY_SECONDS) {
    throw new SigningKeyError("SIGNING_CERT", `SIGNING_CERT: the certificate of the signing key (key 1, kid ${set.current.kid}) is not valid before ${iso(set.current.notBefore)}`);
  }
}

/**
 * Reads and validates the signing keys. Not memoised: the token server reads
 * its settings once per isolate (worker/src/settings.ts), and that is the one
 * cache of them.
 */
export async function loadSigningKeys(keyPem: string | undefined, certPem: string | undefined, now = Math.floor(Date.now() / 1000)): Promise<SigningKeySet> {
  const set = await readSigningKeys(keyPem, certPem);
  checkValidity(set, now);
  return set;
}
