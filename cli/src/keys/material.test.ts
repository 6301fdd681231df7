import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate, type JsonWebKey } from "node:crypto";
import { calculateJwkThumbprint } from "jose";
import { generateSigningMaterial } from "./material.ts";

/** libtrust's KeyID computed by openssl + coreutils, independently of our code. */
function opensslLibtrustKeyId(certPem: string): string {
  const script = "openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32 | tr -d '=\\n'";
  const b32 = execFileSync("sh", ["-c", script], { input: certPem, encoding: "utf8" });
  return (b32.match(/.{4}/g) ?? []).join(":");
}

describe("generateSigningMaterial", () => {
  it.each([
    ["ES256", "EC", ["crv", "kty", "x", "y"]],
    ["RS256", "RSA", ["e", "kty", "n"]],
  ] as const)("makes an %s key, certificate and JWKS that agree", async (alg, kty, members) => {
    const m = await generateSigningMaterial({ alg });
    expect(m.alg).toBe(alg);
    expect(m.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(createPrivateKey(m.keyPem).asymmetricKeyType).toBe(kty === "EC" ? "ec" : "rsa");
    if (kty === "RSA") expect(createPrivateKey(m.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    const [jwk] = m.jwks.keys;
    expect(m.jwks.keys).toHaveLength(1);
    expect(Object.keys(jwk ?? {}).sort()).toEqual([...members, "alg", "kid", "use"].sort());
    expect(jwk).toMatchObject({ kid: m.kid, alg, use: "sig", kty });
    expect(m.kid).toBe(await calculateJwkThumbprint(createPublicKey(m.keyPem).export({ format: "jwk" }), "sha256"));
    expect(createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }).equals(new X509Certificate(m.certPem).publicKey)).toBe(true);
    expect(m.libtrustKeyId).toBe(opensslLibtrustKeyId(m.certPem));
  });

  it("makes a new key every time", async () => {
    const [a, b] = await Promise.all([generateSigningMaterial(), generateSigningMaterial()]);
    expect(a.kid).not.toBe(b.kid);
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
  });

  it("defaults to ES256 for 365 days", async () => {
    const now = Math.floor(Date.now() / 1000);
    const m = await generateSigningMaterial({ now });
    expect(m.alg).toBe("ES256");
    expect(m.notAfter - now).toBe(365 * 86_400);
  });

  it.each([
    ["Ed25519", { alg: "EdDSA" as "ES256" }, /unsupported algorithm EdDSA/],
    ["0 days", { days: 0 }, /days must be/],
    ["fractional days", { days: 1.5 }, /days must be/],
    ["an empty subject", { subject: "" }, /common name/],
  ])("refuses %s", async (_name, options, message) => {
    await expect(generateSigningMaterial(options)).rejects.toThrow(message);
  });
});
