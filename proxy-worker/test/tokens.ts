/**
 * Signs registry tokens inside workerd with the test key from the vitest config,
 * shaped as the token server issues them (ES256, `typ: JWT`, RFC 7638 `kid`,
 * `aud` a string, integer times, `access`).
 */
import { env } from "cloudflare:test";
import { calculateJwkThumbprint, importPKCS8, SignJWT, type JWK } from "jose";
import type { AccessEntry } from "@jwt-registry-auth/protocol";

export const ISSUER = "test-token-issuer";
export const SERVICE = "proxy.test";

export interface TokenOptions {
  readonly access?: readonly AccessEntry[];
  readonly iss?: string;
  readonly aud?: string;
  /** Seconds from now. */
  readonly expiresIn?: number;
  readonly notBefore?: number;
  readonly header?: Record<string, unknown>;
  /** Sign with this PKCS#8 key instead of the configured one. */
  readonly keyPem?: string;
}

export function pull(name: string): AccessEntry {
  return { type: "repository", name, actions: ["pull"] };
}

export function pullPush(name: string): AccessEntry {
  return { type: "repository", name, actions: ["pull", "push"] };
}

export async function registryToken(options: TokenOptions = {}): Promise<string> {
  const keyPem = options.keyPem ?? env.TEST_SIGNING_KEY;
  const key = await importPKCS8(keyPem, "ES256", { extractable: true });
  const jwk = (await crypto.subtle.exportKey("jwk", key)) as JWK;
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JWK);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ access: options.access ?? [], jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid, ...options.header })
    .setIssuer(options.iss ?? ISSUER)
    .setSubject("github:repo:acme/app:ref:refs/heads/main")
    .setAudience(options.aud ?? SERVICE)
    .setIssuedAt(now)
    .setNotBefore(options.notBefore ?? now)
    .setExpirationTime(now + (options.expiresIn ?? 300))
    .sign(key);
}

/** A second ES256 key, unknown to the proxy, as PKCS#8 PEM. */
export async function strangerKeyPem(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}
